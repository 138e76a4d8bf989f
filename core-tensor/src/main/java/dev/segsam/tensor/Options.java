package dev.segsam.tensor;

import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Properties;
import java.util.function.Function;

/**
 * Every setting that changes how segsam computes, as one immutable value: which device, which CPU code path, how many
 * threads, which CUDA GEMM engine and precision, how the CUDA backend uses memory, how many prompts are decoded
 * together. It is passed explicitly to {@link Backends#select(Options)} (and from there to the backend a
 * {@link BackendProvider} creates) and to the model's predictor and trainer, so a library user can run two models with
 * different options in one JVM.
 *
 * <p>Nothing in the library reads system properties while computing: the command line (and any program that wants
 * the documented {@code -Dsegsam.*} properties to work) maps them onto a value once, at its edge, with
 * {@link #fromSystemProperties()} / {@link #fromProperties(Map)}. {@link #PROPERTIES} lists each property with its
 * meaning and default; the README's table is generated from the same words.
 *
 * @param device        where ops run: {@code cpu}, {@code cuda} or {@code auto} (CUDA when usable, else the CPU)
 * @param cpu           the CPU code path: {@link CpuKind#AUTO} (the default: the Vector API kernels when the JVM has
 *                      the module, else the reference with one warning), {@link CpuKind#FAST} (the Vector API kernels
 *                      or an error) or {@link CpuKind#REFERENCE} (the plain loops every fast path is tested against)
 * @param threads       threads used by CPU ops ({@code 1} = sequential)
 * @param cudaProbe     false skips looking for a GPU at all ({@code segsam.cuda=off})
 * @param gemmEngine    CUDA GEMM engine: our kernels or cuBLAS (only where JCublas2 loads)
 * @param gemmPrecision CUDA GEMM precision: exact fp32 or TF32 tensor cores
 * @param cudaSync      synchronise after every CUDA kernel, so an error names the exact kernel (slow; for debugging)
 * @param cudaPoolCacheMiB most device memory the CUDA memory pool keeps cached for reuse; {@code -1} = unlimited
 * @param cudaAttention CUDA attention: the fused flash kernel, or query tiles of materialised scores
 * @param cudaAttentionTileMiB most memory one tile of attention scores may take (tiled attention)
 * @param predictBatch  most prompts (with equal token counts) decoded together in one batched decoder pass; {@code 0}
 *                      (the default) = by device: 1 on the CPU, where the decoder's per-image context makes batching
 *                      a loss (docs/PERF.md, "decode"), 4 elsewhere
 */
public record Options(Device device, CpuKind cpu, int threads, boolean cudaProbe, GemmEngine gemmEngine,
                      GemmPrecision gemmPrecision, boolean cudaSync, long cudaPoolCacheMiB, AttentionKind cudaAttention,
                      int cudaAttentionTileMiB, int predictBatch) {

    /**
     * The CPU code path. {@code AUTO}: the fast Vector API kernels when the JVM was started with
     * {@code --add-modules jdk.incubator.vector}, else the reference with one WARN log line that names the option;
     * {@code FAST}: the fast kernels, and {@link Backends.BackendUnavailableException} when the module is missing;
     * {@code REFERENCE}: the plain loops.
     */
    public enum CpuKind { AUTO, FAST, REFERENCE }

    /** Who computes the CUDA backend's matrix products. */
    public enum GemmEngine { OURS, CUBLAS }

    /** The arithmetic of the CUDA backend's matrix products. */
    public enum GemmPrecision { FP32, TF32 }

    /** How the CUDA backend computes attention. */
    public enum AttentionKind { FLASH, TILED }

    public Options {
        Objects.requireNonNull(device, "device");
        Objects.requireNonNull(cpu, "cpu");
        Objects.requireNonNull(gemmEngine, "gemmEngine");
        Objects.requireNonNull(gemmPrecision, "gemmPrecision");
        Objects.requireNonNull(cudaAttention, "cudaAttention");
        if (threads < 1) throw new IllegalArgumentException("threads must be at least 1, got " + threads);
        if (cudaPoolCacheMiB < -1) throw new IllegalArgumentException("cudaPoolCacheMiB must be -1 (unlimited) or ≥ 0, got " + cudaPoolCacheMiB);
        if (cudaAttentionTileMiB < 1) throw new IllegalArgumentException("cudaAttentionTileMiB must be at least 1, got " + cudaAttentionTileMiB);
        if (predictBatch < 0) throw new IllegalArgumentException("predictBatch must be 0 (by device) or at least 1, got " + predictBatch);
    }

    /** The defaults: device auto, CPU path auto (fast where the JVM allows) on every available processor, our fp32 GEMM, flash attention, prompt batches by device. */
    public static Options defaults() {
        return new Options(Device.AUTO, CpuKind.AUTO, Runtime.getRuntime().availableProcessors(), true,
                GemmEngine.OURS, GemmPrecision.FP32, false, -1, AttentionKind.FLASH, 64, 0);
    }

    public Options withDevice(Device v) {
        return new Options(v, cpu, threads, cudaProbe, gemmEngine, gemmPrecision, cudaSync, cudaPoolCacheMiB, cudaAttention, cudaAttentionTileMiB, predictBatch);
    }

    public Options withCpu(CpuKind v) {
        return new Options(device, v, threads, cudaProbe, gemmEngine, gemmPrecision, cudaSync, cudaPoolCacheMiB, cudaAttention, cudaAttentionTileMiB, predictBatch);
    }

    public Options withThreads(int v) {
        return new Options(device, cpu, v, cudaProbe, gemmEngine, gemmPrecision, cudaSync, cudaPoolCacheMiB, cudaAttention, cudaAttentionTileMiB, predictBatch);
    }

    public Options withCudaProbe(boolean v) {
        return new Options(device, cpu, threads, v, gemmEngine, gemmPrecision, cudaSync, cudaPoolCacheMiB, cudaAttention, cudaAttentionTileMiB, predictBatch);
    }

    public Options withGemm(GemmEngine engine, GemmPrecision precision) {
        return new Options(device, cpu, threads, cudaProbe, engine, precision, cudaSync, cudaPoolCacheMiB, cudaAttention, cudaAttentionTileMiB, predictBatch);
    }

    public Options withCudaSync(boolean v) {
        return new Options(device, cpu, threads, cudaProbe, gemmEngine, gemmPrecision, v, cudaPoolCacheMiB, cudaAttention, cudaAttentionTileMiB, predictBatch);
    }

    public Options withCudaPoolCacheMiB(long v) {
        return new Options(device, cpu, threads, cudaProbe, gemmEngine, gemmPrecision, cudaSync, v, cudaAttention, cudaAttentionTileMiB, predictBatch);
    }

    public Options withCudaAttention(AttentionKind kind, int tileMiB) {
        return new Options(device, cpu, threads, cudaProbe, gemmEngine, gemmPrecision, cudaSync, cudaPoolCacheMiB, kind, tileMiB, predictBatch);
    }

    public Options withPredictBatch(int v) {
        return new Options(device, cpu, threads, cudaProbe, gemmEngine, gemmPrecision, cudaSync, cudaPoolCacheMiB, cudaAttention, cudaAttentionTileMiB, v);
    }

    // ------------------------------------------------------------------ the documented system properties

    /** One documented property: its name, what it means, and its default as written. */
    public record Property(String name, String meaning, String defaultValue) {}

    /** Every {@code segsam.*} property that {@link #fromProperties} understands, in the README's order. */
    public static final java.util.List<Property> PROPERTIES = java.util.List.of(
            new Property("segsam.device", "`cpu`, `cuda` or `auto`", "auto"),
            new Property("segsam.cpu", "`auto` (Vector API paths when the JVM has `--add-modules jdk.incubator.vector`, else the reference with one warning), `fast` (Vector API paths or an error) or `reference` (the plain loops the tests use as oracle)", "auto"),
            new Property("segsam.threads", "threads used by CPU ops (`1` = sequential)", "all cores"),
            new Property("segsam.cuda", "`off` skips the GPU probe", "on"),
            new Property("segsam.gemm", "CUDA GEMM engine: `ours` or `cublas` (JCublas2; only where `libcublas.so.12` loads, else ours with one log line)", "ours"),
            new Property("segsam.gemm.precision", "CUDA GEMM precision: `fp32` (exact) or `tf32` (tensor cores)", "fp32"),
            new Property("segsam.cuda.sync", "`true` synchronises after every kernel (errors name the exact kernel)", "false"),
            new Property("segsam.cuda.poolCacheMiB", "most device memory the pool keeps cached for reuse", "unlimited"),
            new Property("segsam.cuda.attention", "CUDA attention: `flash` (fused kernel) or `tiled` (query tiles of materialised scores)", "flash"),
            new Property("segsam.cuda.attentionTileMiB", "most memory one tile of attention scores may take (tiled attention)", "64"),
            new Property("segsam.predict.batch", "most prompts (with equal token counts) decoded together in one batched pass; 0 = by device", "0 (1 on the CPU, 4 on a GPU)"));

    /** The options the JVM's {@code -Dsegsam.*} system properties ask for (defaults for those not set). */
    public static Options fromSystemProperties() {
        Properties p = System.getProperties();
        Map<String, String> m = new LinkedHashMap<>();
        for (String name : p.stringPropertyNames()) {
            if (name.startsWith("segsam.")) m.put(name, p.getProperty(name));
        }
        return fromProperties(m);
    }

    /**
     * The options named by {@code props} (keys as in {@link #PROPERTIES}; other keys are ignored), defaults for the rest.
     * A bad value is an {@link IllegalArgumentException} whose one-line message names the property and the accepted
     * values.
     */
    public static Options fromProperties(Map<String, String> props) {
        Options d = defaults();
        Function<String, String> get = k -> {
            String v = props.get(k);
            return v == null ? null : v.trim();
        };
        Device device = parse(get, "segsam.device", d.device, v -> Device.parse(v), "cpu, cuda or auto");
        CpuKind cpu = parse(get, "segsam.cpu", d.cpu, v -> enumValue(CpuKind.class, v), "auto, fast or reference");
        int threads = parse(get, "segsam.threads", d.threads, v -> positive(Integer.parseInt(v)), "a whole number ≥ 1");
        boolean probe = parse(get, "segsam.cuda", d.cudaProbe, v -> switch (v.toLowerCase(Locale.ROOT)) {
            case "off", "false" -> false;
            case "on", "true" -> true;
            default -> throw new IllegalArgumentException();
        }, "on or off");
        GemmEngine engine = parse(get, "segsam.gemm", d.gemmEngine, v -> enumValue(GemmEngine.class, v), "ours or cublas");
        GemmPrecision precision = parse(get, "segsam.gemm.precision", d.gemmPrecision, v -> enumValue(GemmPrecision.class, v), "fp32 or tf32");
        boolean sync = parse(get, "segsam.cuda.sync", d.cudaSync, Options::bool, "true or false");
        long pool = parse(get, "segsam.cuda.poolCacheMiB", d.cudaPoolCacheMiB,
                v -> v.equalsIgnoreCase("unlimited") ? -1L : nonNegative(Long.parseLong(v)), "a whole number of MiB ≥ 0, or unlimited");
        AttentionKind attention = parse(get, "segsam.cuda.attention", d.cudaAttention, v -> enumValue(AttentionKind.class, v), "flash or tiled");
        int tile = parse(get, "segsam.cuda.attentionTileMiB", d.cudaAttentionTileMiB, v -> positive(Integer.parseInt(v)), "a whole number of MiB ≥ 1");
        int batch = parse(get, "segsam.predict.batch", d.predictBatch, v -> Math.toIntExact(nonNegative(Integer.parseInt(v))), "a whole number ≥ 0 (0 = by device)");
        return new Options(device, cpu, threads, probe, engine, precision, sync, pool, attention, tile, batch);
    }

    private static <T> T parse(Function<String, String> get, String name, T fallback, Function<String, T> parser, String expected) {
        String v = get.apply(name);
        if (v == null) return fallback;
        try {
            return parser.apply(v);
        } catch (RuntimeException e) {
            throw new IllegalArgumentException(name + " must be " + expected + ", got '" + v + "'");
        }
    }

    private static <E extends Enum<E>> E enumValue(Class<E> type, String v) {
        return Enum.valueOf(type, v.toUpperCase(Locale.ROOT));
    }

    private static boolean bool(String v) {
        return switch (v.toLowerCase(Locale.ROOT)) {
            case "true" -> true;
            case "false" -> false;
            default -> throw new IllegalArgumentException();
        };
    }

    private static int positive(int v) {
        if (v < 1) throw new IllegalArgumentException();
        return v;
    }

    private static long nonNegative(long v) {
        if (v < 0) throw new IllegalArgumentException();
        return v;
    }
}
