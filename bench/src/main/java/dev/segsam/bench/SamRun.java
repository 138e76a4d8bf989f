package dev.segsam.bench;

import dev.segsam.io.safetensors.SafeTensorsFile;
import dev.segsam.io.safetensors.SafeTensorsWriter;
import dev.segsam.model.Predictor;
import dev.segsam.model.Prompt;
import dev.segsam.model.preprocess.Preprocessor;
import dev.segsam.model.sam.SamConfig;
import dev.segsam.model.sam.SeededWeights;
import dev.segsam.model.segsam.SegSam;
import dev.segsam.tensor.Backend;
import dev.segsam.tensor.Backends;
import dev.segsam.tensor.Options;
import dev.segsam.tensor.TensorSource;
import dev.segsam.tensor.image.RgbImage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/**
 * A plain driver for the SAM ViT-B product path (the same calls as {@link SamBench}), for what JMH cannot show:
 * per-op profiles and peak RSS (run it under {@code /usr/bin/time -v}).
 * <pre>
 * java --add-modules jdk.incubator.vector -cp bench/target/benchmarks.jar dev.segsam.bench.SamRun \
 *     [--weights vitb.safetensors] [--encodes 1] [--decodes 5] [--batch 0] [--profile]
 * </pre>
 * {@code --weights}: memory-map this safetensors file, written from the seeded ViT-B weights first when it does not
 * exist (without it the seeded weights live in memory). {@code --batch n}: also time n box prompts one at a time and
 * as one batched call. {@code --profile}: per-op wall time (see {@link OpProfiler}) of the last encode and decodes.
 */
public final class SamRun {
    public static void main(String[] args) throws Exception {
        Path weights = null;
        int encodes = 1, decodes = 5, batch = 0;
        boolean profile = false;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--weights" -> weights = Path.of(args[++i]);
                case "--encodes" -> encodes = Integer.parseInt(args[++i]);
                case "--decodes" -> decodes = Integer.parseInt(args[++i]);
                case "--batch" -> batch = Integer.parseInt(args[++i]);
                case "--profile" -> profile = true;
                default -> throw new IllegalArgumentException("unknown argument " + args[i]);
            }
        }
        TensorSource src;
        if (weights == null) {
            src = SeededWeights.generate(SamConfig.vitB(), 20261126L);
        } else {
            if (!Files.exists(weights)) { // written once; measure RSS on a later run, which only maps it
                TensorSource seeded = SeededWeights.generate(SamConfig.vitB(), 20261126L);
                SafeTensorsWriter w = new SafeTensorsWriter();
                for (String n : seeded.names()) w.add(n, seeded.get(n));
                w.write(weights);
                System.out.println("wrote " + weights);
            }
            src = SafeTensorsFile.open(weights); // memory-mapped
        }
        OpProfiler prof = new OpProfiler();
        Options options = Options.fromSystemProperties(); // -Dsegsam.cpu/threads/predict.batch, mapped at this edge
        Backend cpu = Backends.cpu(options);
        Backend backend = profile ? prof.wrap(cpu) : cpu;
        System.out.println("backend " + cpu.name() + ", " + cpu.parallel() + ", " + dev.segsam.tensor.fast.Sgemm.describe());
        Predictor predictor = new Predictor(SegSam.load(src, backend), Preprocessor.Convention.SAM, options);
        RgbImage image = SamBench.testImage();
        Prompt box = SamBench.box(150, 100, 420, 330);

        Predictor.Encoded enc = null;
        for (int i = 0; i < encodes; i++) {
            if (enc != null) enc.close();
            prof.reset();
            long t0 = System.nanoTime(), c0 = cpuNanos();
            enc = predictor.encode(image, null);
            System.out.printf(Locale.ROOT, "encode %d: %.1f ms (process CPU %.1f ms)%n", i, (System.nanoTime() - t0) / 1e6, (cpuNanos() - c0) / 1e6);
        }
        if (profile) System.out.print("encode profile (last run):\n" + prof.table(1));
        double[] ms = new double[decodes], cpuMs = new double[decodes];
        prof.reset();
        for (int i = 0; i < decodes; i++) {
            if (i == decodes / 2) prof.reset();
            long t0 = System.nanoTime(), c0 = cpuNanos();
            predictor.predict(enc, box);
            ms[i] = (System.nanoTime() - t0) / 1e6;
            cpuMs[i] = (cpuNanos() - c0) / 1e6;
        }
        System.out.println("decode + upsample ms: " + Arrays.toString(Arrays.stream(ms).map(x -> Math.round(x * 10) / 10.0).toArray()));
        System.out.println("decode process CPU ms (JIT threads included): " + Arrays.toString(Arrays.stream(cpuMs).map(x -> Math.round(x * 10) / 10.0).toArray()));
        if (profile && decodes > 0) System.out.print("decode profile (per run, last " + (decodes - decodes / 2) + " runs):\n" + prof.table(decodes - decodes / 2));
        if (batch > 0) {
            List<Prompt> prompts = SamBench.boxes(batch);
            for (int rep = 0; rep < 3; rep++) {
                long t0 = System.nanoTime();
                for (Prompt p : prompts) predictor.predict(enc, p);
                double one = (System.nanoTime() - t0) / 1e9;
                prof.reset();
                t0 = System.nanoTime();
                predictor.predict(enc, prompts);
                double all = (System.nanoTime() - t0) / 1e9;
                if (profile && rep == 2) System.out.print("batched profile (" + batch + " prompts):\n" + prof.table(1));
                System.out.printf(Locale.ROOT, "%d boxes: one at a time %.1f prompts/s, batched %.1f prompts/s%n", batch, batch / one, batch / all);
            }
        }
        if (enc != null) enc.close();
    }

    /** CPU time of this process (all threads), for runs on a machine shared with other jobs. */
    static long cpuNanos() {
        return ((com.sun.management.OperatingSystemMXBean) java.lang.management.ManagementFactory.getOperatingSystemMXBean()).getProcessCpuTime();
    }

    private SamRun() {}
}
