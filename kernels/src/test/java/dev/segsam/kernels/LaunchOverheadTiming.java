package dev.segsam.kernels;

import dev.segsam.tensor.Tensor;
import java.lang.foreign.MemorySegment;

/**
 * Host-side cost of one kernel launch without a driver: the typed {@link KernelArgs} path of {@link CudaRuntime#launch}
 * against the kind-string marshalling it replaced (copied below as it was, with the launch description it formatted on
 * every launch), interleaved in one JVM, 25 arguments (a flash-attention launch). Not a test: run after a build with
 *
 * <pre>java -cp kernels/target/test-classes:kernels/target/classes:core-tensor/target/classes:$HOME/.m2/repository/org/jcuda/jcuda/12.6.0/jcuda-12.6.0.jar \
 *     dev.segsam.kernels.LaunchOverheadTiming</pre>
 */
public class LaunchOverheadTiming {
    static final class NullGpu implements Gpu {
        long next = 1 << 20;
        public String description() { return "null"; }
        public int multiprocessors() { return 1; }
        public void enterThread() {}
        public long malloc(long bytes) { long a = next; next += bytes + 256; return a; }
        public void free(long address) {}
        public void memset32(long a, int v, long c) {}
        public void copyToDevice(long d, MemorySegment s, long b) {}
        public void copyToHost(MemorySegment d, long s, long b) {}
        public Object function(Kernel k) { return k; }
        long sink;
        public void launch(Object f, Kernel k, int gx, int gy, int gz, int bx, int by, int smem, Object[] args) { sink += args.length; }
        public void synchronize() {}
    }

    // ---- the old path (CudaRuntime.marshal before typed arguments), kinds as the old Kernel table had them
    static final String FLASH_PARAMS = "ppppiiiiiiiiiiiiiiifppiii";
    static Object[] oldMarshal(String kinds, Object[] args) {
        Object[] raw = new Object[args.length];
        for (int i = 0; i < args.length; i++) {
            Object a = args[i];
            char kind = kinds.charAt(i);
            raw[i] = switch (kind) {
                case 'p' -> switch (a) {
                    case null -> 0L;
                    case Tensor t -> CudaRuntime.address(t, 0);
                    default -> throw new IllegalArgumentException();
                };
                case 'i' -> a instanceof Integer ? a : null;
                case 'f' -> a instanceof Float ? a : null;
                default -> throw new IllegalStateException();
            };
        }
        return raw;
    }

    static volatile String lastOld;

    public static void main(String[] a) {
        NullGpu gpu = new NullGpu();
        CudaDevice dev = new CudaDevice(gpu, false);
        CudaRuntime rt = dev.runtime(-1, false);
        Tensor y = rt.alloc(4096), q = rt.alloc(4096), k = rt.alloc(4096), v = rt.alloc(4096);
        int n = 2_000_000;
        for (int round = 0; round < 15; round++) {
            long t0 = System.nanoTime();
            for (int i = 0; i < n; i++) {
                rt.launch(Kernel.FLASH_ATTN_F32_D64, "x", 1, 1, 1, 128, 1, 0, new KernelArgs.FlashAttention(KernelArgs.out(y), KernelArgs.in(q),
                        KernelArgs.in(k), KernelArgs.in(v), 64, i, 1, 64, 4096, 0, 64, 4096, 0, 64, 4096, 0, 64, 4096, 0, 0.125f, null, null, 1, 1, 1));
            }
            long t1 = System.nanoTime();
            for (int i = 0; i < n; i++) {
                Object[] args = {y, q, k, v, 64, i, 1, 64, 4096, 0, 64, 4096, 0, 64, 4096, 0, 64, 4096, 0, 0.125f, null, null, 1, 1, 1};
                Object[] raw = oldMarshal(FLASH_PARAMS, args);
                String what = "kernel " + Kernel.FLASH_ATTN_F32_D64.symbol + " (" + "x" + ") grid " + 1 + "x" + 1 + "x" + 1 + " block " + 128 + "x" + 1;
                lastOld = what;
                gpu.launch(dev.function(Kernel.FLASH_ATTN_F32_D64), Kernel.FLASH_ATTN_F32_D64, 1, 1, 1, 128, 1, 0, raw);
                java.lang.ref.Reference.reachabilityFence(args);
            }
            long t2 = System.nanoTime();
            System.out.printf("round %d: typed records %.0f ns/launch, old kind string %.0f ns/launch (25 arguments, no driver)%n", round,
                    (t1 - t0) / (double) n, (t2 - t1) / (double) n);
        }
        if (gpu.sink == 42) System.out.println(); // keeps the launches observable
    }
}
