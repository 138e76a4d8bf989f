package dev.segsam.kernels;

import dev.segsam.tensor.Shapes;
import dev.segsam.tensor.Tensor;
import java.lang.foreign.MemorySegment;
import java.lang.ref.Reference;
import java.util.EnumMap;
import java.util.Map;

/**
 * What every CUDA op needs: the {@link Gpu}, the memory pool, the kernel handles, and a launcher that checks each
 * argument against the kernel's declared parameters and turns every failure into a {@link CudaOpException} naming the
 * kernel and the shapes.
 *
 * <p>Errors inside a kernel (an illegal address, say) surface asynchronously, at the next synchronising call; the
 * message then names the last kernel launched. {@code -Dsegsam.cuda.sync=true} (or {@link #syncEachLaunch}, which the
 * GPU tests set) synchronises after every launch, so the failing kernel is named exactly.
 */
final class CudaRuntime {
    /** Largest tensor, in elements: kernels index with 32-bit unsigned counters that must not wrap (grid ≤ 2^24 threads). */
    static final long MAX_ELEMENTS = (1L << 31) - (1L << 25);
    /** Cap on blocks for grid-stride kernels (65535 × 256 threads < 2^24). */
    static final int MAX_GRID = 65535;

    final Gpu gpu;
    final DevicePool pool;
    private final Map<Kernel, Object> functions = new EnumMap<>(Kernel.class);
    volatile boolean syncEachLaunch = Boolean.getBoolean("segsam.cuda.sync");
    private volatile String lastLaunch = "none yet";

    CudaRuntime(Gpu gpu, boolean exactPool) {
        this.gpu = gpu;
        this.pool = new DevicePool(gpu, exactPool);
    }

    // ------------------------------------------------------------------ the process-wide runtime on the real GPU

    private static volatile CudaRuntime shared;
    private static volatile String sharedFailure;

    /**
     * The runtime over {@link JCudaGpu}, created once: null when the device cannot be used, with the one-line reason
     * in {@link #sharedFailure()} (probe result, fatbin load failure, or a failed self-test).
     */
    static CudaRuntime shared() {
        if (shared == null && sharedFailure == null) {
            synchronized (CudaRuntime.class) {
                if (shared == null && sharedFailure == null) {
                    CudaProbe.Result probe = CudaProbe.probe();
                    if (!probe.available()) {
                        sharedFailure = probe.reason();
                    } else {
                        try {
                            CudaRuntime rt = new CudaRuntime(new JCudaGpu(), false);
                            String selfTest = rt.selfTest();
                            if (selfTest == null) shared = rt;
                            else sharedFailure = selfTest;
                        } catch (RuntimeException | LinkageError e) {
                            sharedFailure = "CUDA device found (" + probe + ") but unusable: " + String.valueOf(e.getMessage()).replace('\n', ' ');
                        }
                    }
                }
            }
        }
        return shared;
    }

    static String sharedFailure() {
        shared();
        return sharedFailure;
    }

    /**
     * Runs a tiny kernel end to end (upload, {@code scale_f32}, download) and checks the values: null when they are
     * right, else a one-line reason.
     */
    String selfTest() {
        float[] v = new float[1000];
        for (int i = 0; i < v.length; i++) v[i] = i - 500.5f;
        try (Tensor host = Tensor.of(v, v.length); Tensor d = upload(host); Tensor out = alloc(v.length)) {
            launch1d(Kernel.SCALE, "self-test [1000]", v.length, out, d, 2f, v.length);
            try (Tensor back = download(out)) {
                for (int i = 0; i < v.length; i++) {
                    if (back.get(i) != 2f * v[i]) {
                        return "the CUDA self-test kernel returned wrong values (element " + i + ": " + back.get(i)
                                + ", expected " + 2f * v[i] + ") on " + gpu.description();
                    }
                }
            }
            return null;
        } catch (RuntimeException e) {
            return "the CUDA self-test failed on " + gpu.description() + ": " + String.valueOf(e.getMessage()).replace('\n', ' ');
        }
    }

    private Object cublas; // CublasGemm, or the one-line reason why there is none

    /** The cuBLAS path on this runtime's device (opened once: two handles), or a String saying why there is none. */
    synchronized Object cublas() {
        if (cublas == null) {
            gpu.enterThread();
            cublas = CublasGemm.open(gpu);
        }
        return cublas;
    }

    // ------------------------------------------------------------------ tensors

    /** A new device tensor (contents undefined, or NaN when the pool poisons). */
    Tensor alloc(int... shape) {
        long n = Shapes.numel(Shapes.check(shape));
        if (n > MAX_ELEMENTS) {
            throw new IllegalArgumentException("CUDA tensors are limited to " + MAX_ELEMENTS + " elements, shape "
                    + Shapes.str(shape) + " has " + n);
        }
        gpu.enterThread();
        return Tensor.onStorage(new CudaStorage(pool, n * Float.BYTES), shape);
    }

    /** True when {@code t} lives in this runtime's device memory. */
    static boolean isDevice(Tensor t) {
        return t.storage() instanceof CudaStorage;
    }

    /** Device address of element {@code offset} of {@code t}. */
    static long address(Tensor t, long offset) {
        if (!(t.storage() instanceof CudaStorage s)) {
            throw new IllegalArgumentException("tensor " + Shapes.str(t.shape()) + " lives on " + t.device()
                    + ", not on the GPU: upload it first (Backend.upload)");
        }
        return s.address() + (t.storageOffset() + offset) * Float.BYTES;
    }

    /** Elements available from {@code t}'s first element to the end of its storage. */
    static long capacity(Tensor t) {
        return t.storage().byteSize() / Float.BYTES - t.storageOffset();
    }

    Tensor upload(Tensor host) {
        if (isDevice(host)) return host;
        Tensor d = alloc(host.shape());
        long bytes = host.numel() * Float.BYTES;
        if (bytes > 0) gpu.copyToDevice(address(d, 0), host.data(), bytes);
        return d;
    }

    Tensor download(Tensor t) {
        if (!isDevice(t)) return t;
        gpu.enterThread();
        Tensor host = Tensor.zeros(t.shape());
        copyToHost(host.data(), address(t, 0), t.numel() * Float.BYTES, "download " + Shapes.str(t.shape()));
        Reference.reachabilityFence(t);
        return host;
    }

    /** Copies device bytes to the host, naming the last kernel if an earlier asynchronous failure surfaces here. */
    void copyToHost(MemorySegment dst, long src, long bytes, String what) {
        if (bytes == 0) return;
        try {
            gpu.copyToHost(dst, src, bytes);
        } catch (CudaOpException e) {
            throw new CudaOpException(what + " failed; the last kernel launched was " + lastLaunch + ": " + e.getMessage(), e);
        }
    }

    void synchronize(String what) {
        gpu.enterThread();
        try {
            gpu.synchronize();
        } catch (RuntimeException e) {
            throw new CudaOpException(what + " failed; the last kernel launched was " + lastLaunch + ": " + e.getMessage(), e);
        }
    }

    // ------------------------------------------------------------------ launches

    /** The last launch, as error messages name it (kernel symbol, shapes, grid): tests check which kernel ran. */
    String lastLaunch() {
        return lastLaunch;
    }

    /** A device pointer argument: {@code tensor}'s storage at element {@code offset} from its first element. */
    record Ptr(Tensor tensor, long offset) {}

    /** Launch for a grid-stride kernel over {@code n} elements. */
    void launch1d(Kernel k, String shapes, long n, Object... args) {
        if (n <= 0) return;
        int grid = (int) Math.min((n + k.threads - 1) / k.threads, MAX_GRID);
        launch(k, shapes, grid, 1, 1, k.threads, 1, 0, args);
    }

    /** Launch for a one-warp-per-row kernel over {@code rows} rows. */
    void launchRows(Kernel k, String shapes, int rows, Object... args) {
        if (rows <= 0) return;
        int perBlock = k.threads / 32;
        launch(k, shapes, (rows + perBlock - 1) / perBlock, 1, 1, k.threads, 1, 0, args);
    }

    /**
     * Launches {@code k}. Arguments, in the kernel's order: {@link Tensor} or {@link Ptr} (or null) for pointers,
     * {@code Integer}, {@code Float}. {@code shapes} names the operands for error messages.
     */
    void launch(Kernel k, String shapes, int gx, int gy, int gz, int bx, int by, int sharedBytes, Object... args) {
        if (bx * by != k.threads) {
            throw new IllegalStateException(k.symbol + " is written for " + k.threads + " threads per block, launched with " + bx + "x" + by);
        }
        Object[] raw = marshal(k, args);
        String what = "kernel " + k.symbol + " (" + shapes + ") grid " + gx + "x" + gy + "x" + gz + " block " + bx + "x" + by;
        gpu.enterThread();
        Object f;
        synchronized (functions) {
            f = functions.computeIfAbsent(k, gpu::function);
        }
        lastLaunch = what;
        try {
            gpu.launch(f, k, gx, gy, gz, bx, by, sharedBytes, raw);
            if (syncEachLaunch) gpu.synchronize();
        } catch (RuntimeException e) {
            throw new CudaOpException(what + ": " + e.getMessage(), e);
        } finally {
            Reference.reachabilityFence(args); // tensors stay reachable (no cleaner release) until the launch is queued
        }
    }

    private static Object[] marshal(Kernel k, Object[] args) {
        String kinds = k.params;
        if (args.length != kinds.length()) {
            throw new IllegalArgumentException(k.symbol + " takes " + kinds.length() + " arguments (" + kinds + "), got " + args.length);
        }
        Object[] raw = new Object[args.length];
        for (int i = 0; i < args.length; i++) {
            Object a = args[i];
            char kind = kinds.charAt(i);
            raw[i] = switch (kind) {
                case 'p' -> switch (a) {
                    case null -> 0L;
                    case Tensor t -> address(t, 0);
                    case Ptr p -> address(p.tensor(), p.offset());
                    default -> throw badArg(k, i, kind, a);
                };
                case 'i' -> a instanceof Integer ? a : throwBad(k, i, kind, a);
                case 'f' -> a instanceof Float ? a : throwBad(k, i, kind, a);
                default -> throw new IllegalStateException("unknown parameter kind " + kind);
            };
        }
        return raw;
    }

    private static Object throwBad(Kernel k, int i, char kind, Object a) {
        throw badArg(k, i, kind, a);
    }

    private static IllegalArgumentException badArg(Kernel k, int i, char kind, Object a) {
        String want = switch (kind) {
            case 'p' -> "a device pointer (Tensor, Ptr or null)";
            case 'i' -> "an Integer";
            default -> "a Float";
        };
        return new IllegalArgumentException(k.symbol + " argument " + i + " must be " + want + ", got "
                + (a == null ? "null" : a.getClass().getSimpleName() + " " + a));
    }
}
