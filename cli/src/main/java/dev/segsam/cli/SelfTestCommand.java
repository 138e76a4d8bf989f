package dev.segsam.cli;

import dev.segsam.io.safetensors.SafeTensorsFile;
import dev.segsam.io.safetensors.SafeTensorsWriter;
import dev.segsam.tensor.Backend;
import dev.segsam.tensor.Backends;
import dev.segsam.tensor.CpuBackend;
import dev.segsam.tensor.Options;
import dev.segsam.tensor.Tensor;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

/**
 * A smoke run of the foundation: environment, devices, a handful of ops with answers worked out by hand, a
 * safetensors round trip, and a timed attention over SAM-B's global-block size. Exits non-zero if any check fails.
 * (The embedded SEG-SAM demo will replace this as the README's main command.)
 */
@Command(name = "selftest", mixinStandardHelpOptions = true,
        description = "Check this installation: JDK, devices, CPU ops, safetensors I/O, and time one SAM-sized attention.")
final class SelfTestCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    private int failures;
    private PrintWriter out;

    @Override
    public Integer call() throws Exception {
        out = spec.commandLine().getOut();
        out.println("segsam selftest");
        Options options = Main.options(null, null);
        out.println("  java      " + Runtime.version() + " (" + System.getProperty("java.vendor") + "), " + options.threads() + " threads");
        for (String d : Backends.describeProviders(options)) out.println("  device    " + d);
        Backend b = new CpuBackend();

        check("matmul", b.matmul(Tensor.of(new float[] {1, 2, 3, 4}, 2, 2), Tensor.of(new float[] {5, 6, 7, 8}, 2, 2)).toArray(),
                new float[] {19, 22, 43, 50});
        check("conv2d 3x3 pad 1", b.conv2d(Tensor.zeros(1, 1, 3, 3).fill(1), Tensor.zeros(1, 1, 3, 3).fill(1), null, 1, 1, 1, 1).toArray(),
                new float[] {4, 6, 4, 6, 9, 6, 4, 6, 4});
        check("softmax", b.softmax(Tensor.zeros(1, 4).fill(3)).toArray(), new float[] {0.25f, 0.25f, 0.25f, 0.25f});
        check("window partition", b.windowPartition(Tensor.of(new float[] {1, 2, 3, 4}, 1, 2, 2, 1), 3).windows().toArray(),
                new float[] {1, 2, 0, 3, 4, 0, 0, 0, 0});
        check("gelu(1)", b.gelu(Tensor.scalar(1f)).toArray(), new float[] {0.8413447f});

        Path dir = Files.createTempDirectory("segsam-selftest");
        Path f = dir.resolve("t.safetensors");
        try {
            new SafeTensorsWriter().metadata("k", "v").add("w", Tensor.of(new float[] {1.5f, -2f}, 2)).write(f);
            try (SafeTensorsFile s = SafeTensorsFile.open(f)) {
                check("safetensors round trip", s.get("w").toArray(), new float[] {1.5f, -2f});
            }
        } finally {
            Files.deleteIfExists(f);
            Files.deleteIfExists(dir);
        }

        // one head of a SAM-B global block: 4096 tokens, head dim 64, with relative position (timed, not checked)
        int n = 4096, d = 64;
        Tensor q = random(1, 1, n, d), k = random(2, 1, n, d), v = random(3, 1, n, d);
        Tensor rh = b.relPosLookup(random(4, 127, d), 64, 64), rw = b.relPosLookup(random(5, 127, d), 64, 64);
        long t0 = System.nanoTime();
        Tensor o = b.attention(q, k, v, 0.125f, new Backend.RelPos(rh, rw, 64, 64, 64, 64));
        double ms = (System.nanoTime() - t0) / 1e6;
        boolean finite = true;
        for (float x : o.toArray()) finite &= Float.isFinite(x);
        report("attention 4096x4096, d 64, rel-pos: " + String.format("%.0f ms", ms) + " (one head; SAM-B has 48 such)", finite);

        out.println(failures == 0 ? "OK: all checks passed" : "FAILED: " + failures + " check(s)");
        return failures == 0 ? 0 : 1;
    }

    private static Tensor random(long seed, int... shape) {
        java.util.Random r = new java.util.Random(seed);
        float[] a = new float[Math.toIntExact(dev.segsam.tensor.Shapes.numel(shape))];
        for (int i = 0; i < a.length; i++) a[i] = (float) r.nextGaussian();
        return Tensor.of(a, shape);
    }

    private void check(String what, float[] got, float[] want) {
        boolean ok = got.length == want.length;
        for (int i = 0; ok && i < got.length; i++) ok = Math.abs(got[i] - want[i]) <= 1e-6f * Math.max(1, Math.abs(want[i]));
        report(what + (ok ? "" : ": got " + Arrays.toString(got) + ", want " + Arrays.toString(want)), ok);
    }

    private void report(String what, boolean ok) {
        if (!ok) failures++;
        out.println("  " + (ok ? "ok  " : "FAIL") + "      " + what);
    }
}
