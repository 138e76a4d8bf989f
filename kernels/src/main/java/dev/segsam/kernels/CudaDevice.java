package dev.segsam.kernels;

import java.util.EnumMap;
import java.util.HashMap;
import java.util.Map;

/**
 * One GPU as every {@link CudaBackend} on it shares it: the {@link Gpu} (one context, one stream), the kernels'
 * function handles, the memory pools, the optional cuBLAS handles, and the last kernel launched (which error messages
 * name when an asynchronous failure surfaces later). Backends with different options on the same device differ only
 * in their {@link CudaRuntime}: which pool they allocate from, whether they synchronise after each launch.
 */
final class CudaDevice {
    final Gpu gpu;
    /** Pools of exact-size blocks for the emulator's guard pages (tests); false on a real GPU. */
    private final boolean exactPools;
    private final Map<Kernel, Object> functions = new EnumMap<>(Kernel.class);
    private final Map<Long, DevicePool> pools = new HashMap<>();
    private volatile Launch lastLaunch;
    private Object cublas; // CublasGemm, or the one-line reason why there is none

    CudaDevice(Gpu gpu, boolean exactPools) {
        this.gpu = gpu;
        this.exactPools = exactPools;
    }

    /**
     * The pool that keeps at most {@code maxCachedBytes} of free blocks for reuse ({@code Long.MAX_VALUE}: no limit);
     * backends asking for the same limit share one pool, so their blocks are reused across them.
     */
    synchronized DevicePool pool(long maxCachedBytes) {
        return pools.computeIfAbsent(maxCachedBytes, m -> new DevicePool(gpu, exactPools, m));
    }

    /** A runtime on this device for one backend: the pool for {@code poolCacheMiB} (-1: unlimited) and the sync mode. */
    CudaRuntime runtime(long poolCacheMiB, boolean syncEachLaunch) {
        return new CudaRuntime(this, pool(poolCacheMiB < 0 ? Long.MAX_VALUE : poolCacheMiB << 20), syncEachLaunch);
    }

    /** The function handle of {@code k}, looked up once. */
    Object function(Kernel k) {
        synchronized (functions) {
            return functions.computeIfAbsent(k, gpu::function);
        }
    }

    /** A launch as error messages name it; formatted only when asked (most launches never are). */
    record Launch(Kernel kernel, String shapes, int gx, int gy, int gz, int bx, int by) {
        @Override
        public String toString() {
            return "kernel " + kernel.symbol + " (" + shapes + ") grid " + gx + "x" + gy + "x" + gz + " block " + bx + "x" + by;
        }
    }

    String lastLaunch() {
        Launch l = lastLaunch;
        return l == null ? "none yet" : l.toString();
    }

    void launched(Launch l) {
        lastLaunch = l;
    }

    /** The cuBLAS path on this device (opened once: two handles), or a String saying why there is none. */
    synchronized Object cublas() {
        if (cublas == null) {
            gpu.enterThread();
            cublas = CublasGemm.open(gpu);
        }
        return cublas;
    }

    // ------------------------------------------------------------------ the process-wide device on the real GPU

    /** The reason given when the options switch the GPU probe off. */
    static final String DISABLED = "disabled (segsam.cuda=off: the GPU probe is switched off)";

    private static volatile CudaDevice shared;
    private static volatile String sharedFailure;

    /**
     * Device 0 over {@link JCudaGpu}, set up once per JVM: null when it cannot be used, with the one-line reason in
     * {@link #sharedFailure()} (probe result, fatbin load failure, or a failed self-test).
     */
    static CudaDevice shared() {
        if (shared == null && sharedFailure == null) {
            synchronized (CudaDevice.class) {
                if (shared == null && sharedFailure == null) {
                    CudaProbe.Result probe = CudaProbe.probe();
                    if (!probe.available()) {
                        sharedFailure = probe.reason();
                    } else {
                        try {
                            CudaDevice d = new CudaDevice(new JCudaGpu(), false);
                            String selfTest = d.selfTest();
                            if (selfTest == null) shared = d;
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

    /** Why {@link #shared()} is null, or null when the device is usable. */
    static String sharedFailure() {
        shared();
        return sharedFailure;
    }

    /**
     * Runs a tiny kernel end to end (upload, {@code scale_f32}, download) and checks the values: null when they are
     * right, else a one-line reason.
     */
    String selfTest() {
        CudaRuntime rt = runtime(-1, false);
        float[] v = new float[1000];
        for (int i = 0; i < v.length; i++) v[i] = i - 500.5f;
        try (var _ = dev.segsam.tensor.TensorScope.open()) {
            var d = rt.upload(dev.segsam.tensor.Tensor.of(v, v.length));
            var out = rt.alloc(v.length);
            rt.launch1d(Kernel.SCALE, "self-test [1000]", v.length, new KernelArgs.Scale(KernelArgs.out(out), KernelArgs.in(d), 2f, v.length));
            var back = rt.download(out);
            for (int i = 0; i < v.length; i++) {
                if (back.get(i) != 2f * v[i]) {
                    return "the CUDA self-test kernel returned wrong values (element " + i + ": " + back.get(i)
                            + ", expected " + 2f * v[i] + ") on " + gpu.description();
                }
            }
            return null;
        } catch (RuntimeException e) {
            return "the CUDA self-test failed on " + gpu.description() + ": " + String.valueOf(e.getMessage()).replace('\n', ' ');
        }
    }
}
