package dev.segsam.bench;

import dev.segsam.tensor.Backend;
import dev.segsam.tensor.Shapes;
import dev.segsam.tensor.Tensor;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Every CPU op at the shapes SAM ViT-B runs it with, on either CPU backend ({@code cpu} = {@code fast} or
 * {@code reference}). The case names match {@code tools/reference/bench_torch_ops.py --only ops}, which times the same
 * op in PyTorch; {@code scripts/perf-table.sh} pairs them. One case = one op call (the output is closed by JMH's
 * blackhole only; tensors are freed by the cleaner, as in a program that forgets to close).
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 2, time = 1)
@Measurement(iterations = 3, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED", "--sun-misc-unsafe-memory-access=allow",
        "--add-modules=jdk.incubator.vector", "-Xmx4g"})
@State(Scope.Benchmark)
public class CpuOpsBench {
    @Param({"fast", "reference"})
    String cpu;

    @Param({"linear.qkv", "linear.decoderKv", "linear.decoderMlp", "matmul.masks", "conv2d.patchEmbed", "conv2d.neck3x3", "convTranspose2d.up0",
        "convTranspose2d.up1", "layerNorm.encoder", "layerNorm2d.up", "gelu.mlp", "softmax.rows", "add.residual", "add.bias",
        "permute.nchw", "permute.heads", "slice.tokens", "concat.tokens", "windowPartition.vitB", "windowUnpartition.vitB",
        "interpolateBilinear.up", "interpolateBilinear.down", "attention.global1head", "attention.windowed1head",
        "multiHeadAttention.t2i", "multiHeadAttention.i2t", "encoderAttention.global", "encoderAttention.windowed"})
    String op;

    Backend backend;
    Function<Backend, Tensor> fn;

    @Setup(Level.Trial)
    public void setup() {
        backend = OpTiming.backend(cpu);
        fn = Case.byName(op).op();
        fn.apply(backend).close();
    }

    @Benchmark
    public Tensor run() {
        return fn.apply(backend);
    }

    /** An op at a SAM shape; inputs are made once per JVM (seeded). */
    enum Case {
        LINEAR_QKV("linear.qkv", b -> b.linear(in("x4096x768"), in("w2304x768"), in("b2304"))),
        LINEAR_DECODER_KV("linear.decoderKv", b -> b.linear(in("k1x4096x256"), in("w128x256"), in("b128"))),
        LINEAR_DECODER_MLP("linear.decoderMlp", b -> b.linear(in("x7x256"), in("w2048x256"), in("b2048"))),
        MATMUL_MASKS("matmul.masks", b -> b.matmul(in("h4x32"), in("u32x65536"))),
        CONV2D_PATCH("conv2d.patchEmbed", b -> b.conv2d(in("img1x3x1024x1024"), in("pw768x3x16x16"), in("b768"), 16, 16, 0, 0)),
        CONV2D_NECK("conv2d.neck3x3", b -> b.conv2d(in("f1x256x64x64"), in("nw256x256x3x3"), null, 1, 1, 1, 1)),
        CONVT_UP0("convTranspose2d.up0", b -> b.convTranspose2d(in("f1x256x64x64"), in("tw256x64x2x2"), in("b64"), 2)),
        CONVT_UP1("convTranspose2d.up1", b -> b.convTranspose2d(in("f1x64x128x128"), in("tw64x32x2x2"), in("b32"), 2)),
        LAYER_NORM("layerNorm.encoder", b -> b.layerNorm(in("t1x64x64x768"), in("b768"), in("c768"), 1e-6f)),
        LAYER_NORM_2D("layerNorm2d.up", b -> b.layerNorm2d(in("f1x64x128x128"), in("b64"), in("c64"), 1e-6f)),
        GELU("gelu.mlp", b -> b.gelu(in("x4096x3072"))),
        SOFTMAX("softmax.rows", b -> b.softmax(in("s56x4096"))),
        ADD_RESIDUAL("add.residual", b -> b.add(in("t1x64x64x768"), in("u1x64x64x768"))),
        ADD_BIAS("add.bias", b -> b.add(in("k1x4096x256"), in("b256"))),
        PERMUTE_NCHW("permute.nchw", b -> b.permute(in("t1x64x64x768"), 0, 3, 1, 2)),
        PERMUTE_HEADS("permute.heads", b -> b.permute(in("k1x4096x256").reshape(1, 4096, 8, 32), 0, 2, 1, 3)),
        SLICE("slice.tokens", b -> b.slice(in("k1x4096x256"), 2, 64, 128)),
        CONCAT("concat.tokens", b -> b.concat(List.of(in("k1x4096x256"), in("l1x4096x256")), 2)),
        WINDOW_PARTITION("windowPartition.vitB", b -> b.windowPartition(in("t1x64x64x768"), 14).windows()),
        WINDOW_UNPARTITION("windowUnpartition.vitB", b -> b.windowUnpartition(in("w25x14x14x768"), 14, 70, 70, 64, 64)),
        INTERPOLATE_UP("interpolateBilinear.up", b -> b.interpolateBilinear(in("m1x1x256x256"), 1024, 1024)),
        INTERPOLATE_DOWN("interpolateBilinear.down", b -> b.interpolateBilinear(in("m1x1x768x1024"), 450, 600)),
        ATTENTION_GLOBAL("attention.global1head", b -> b.attention(in("q1x4096x64"), in("k1x4096x64"), in("v1x4096x64"), 0.125f,
                new Backend.RelPos(in("rh64x64x64"), in("rw64x64x64"), 64, 64, 64, 64))),
        ATTENTION_WINDOWED("attention.windowed1head", b -> b.attention(in("q25x196x64"), in("k25x196x64"), in("v25x196x64"), 0.125f,
                new Backend.RelPos(in("rh14x14x64"), in("rw14x14x64"), 14, 14, 14, 14))),
        MHA_T2I("multiHeadAttention.t2i", b -> b.multiHeadAttention(in("q1x7x128"), in("k1x4096x128"), in("v1x4096x128"), 8, 0.25f)),
        MHA_I2T("multiHeadAttention.i2t", b -> b.multiHeadAttention(in("k1x4096x128"), in("q1x7x128"), in("r1x7x128"), 8, 0.25f)),
        ENC_ATTN_GLOBAL("encoderAttention.global", b -> encoderAttention(b, 0)),
        ENC_ATTN_WINDOWED("encoderAttention.windowed", b -> encoderAttention(b, 14));

        final String name;
        final Function<Backend, Tensor> op;

        Case(String name, Function<Backend, Tensor> op) {
            this.name = name;
            this.op = op;
        }

        Function<Backend, Tensor> op() {
            return op;
        }

        static Case byName(String name) {
            for (Case c : values()) if (c.name.equals(name)) return c;
            throw new IllegalArgumentException("no op case " + name);
        }

        private static Tensor encoderAttention(Backend b, int window) {
            int S = window > 0 ? window : 64;
            return b.encoderAttention(in("t1x64x64x768"), in("sw2304x768"), in("b2304"), in("sw768x768"), in("b768"), 12, window,
                    in("rp" + (2 * S - 1) + "x64"), in("rq" + (2 * S - 1) + "x64"));
        }
    }

    private static final Map<String, Tensor> INPUTS = new HashMap<>();

    /**
     * The input named {@code key}: a letter (its seed and role) and the shape, e.g. {@code x4096x768}. Gaussian values;
     * names starting with {@code s} (weights at nn.Linear's scale) are divided by √(last dim).
     */
    static synchronized Tensor in(String key) {
        return INPUTS.computeIfAbsent(key, k -> {
            String[] p = k.replaceFirst("^[a-z]+", "").split("x");
            int[] shape = new int[p.length];
            for (int i = 0; i < p.length; i++) shape[i] = Integer.parseInt(p[i]);
            Random r = new Random(k.hashCode());
            float[] v = new float[Math.toIntExact(Shapes.numel(shape))];
            double scale = k.startsWith("s") ? 1 / Math.sqrt(shape[shape.length - 1]) : 1;
            for (int i = 0; i < v.length; i++) v[i] = (float) (r.nextGaussian() * scale);
            return Tensor.of(v, shape);
        });
    }
}
