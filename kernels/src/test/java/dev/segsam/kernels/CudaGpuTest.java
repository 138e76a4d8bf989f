package dev.segsam.kernels;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.segsam.tensor.Backend;
import dev.segsam.tensor.Backends;
import dev.segsam.tensor.Compare;
import dev.segsam.tensor.Device;
import dev.segsam.tensor.Options;
import dev.segsam.tensor.Tensor;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * The CUDA-specific checks ({@link CudaKernelChecks}) on the real GPU, plus what only a GPU can show: SAM-sized GEMMs, global attention without the
 * [B, N, N] score tensor, several calling threads, the cuBLAS comparison, device selection. Tagged {@code gpu}
 * ({@code ./mvnw -Pgpu -pl kernels -am test}) and skipped when {@link CudaProbe} finds no device; a device whose fatbin
 * does not load or whose self-test fails is a failure, not a skip.
 */
@Tag("gpu")
class CudaGpuTest extends CudaKernelChecks {
    private CudaDevice device;

    @BeforeAll
    void gpu() {
        device = GpuTests.deviceOrSkip();
    }

    @Override
    CudaDevice device() {
        return device;
    }

    @Override
    CudaDevice cachingDevice() {
        return device;
    }

    @Override
    List<GemmEngine> engines() {
        List<GemmEngine> m = new ArrayList<>(List.of(GemmEngine.FP32_TILED, GemmEngine.FP32_PER_OUTPUT, GemmEngine.FP32_TILED_64,
                GemmEngine.FP32_TILED_128, GemmEngine.TF32_TENSOR_CORES));
        if (CudaBackend.cublasUnavailableReason() == null) m.addAll(List.of(GemmEngine.CUBLAS_FP32, GemmEngine.CUBLAS_TF32));
        return m;
    }

    @Override
    int size() {
        return 4;
    }

    /** SAM ViT-B linears at full size, checked on sampled outputs against double-precision dot products. */
    @Test
    void samSizedLinears() {
        Random r = new Random(21);
        int[][] shapes = {{4096, 768, 2304}, {4096, 3072, 768}, {4900, 768, 3072}};
        for (GemmEngine mode : engines()) {
            if (mode == GemmEngine.FP32_PER_OUTPUT) continue; // slow, and covered at smaller sizes
            CudaBackend g = cuda(mode, Options.AttentionKind.FLASH);
            for (int[] s : shapes) {
                int M = s[0], K = s[1], N = s[2];
                Tensor x = randn(r, 1f, M, K), w = randn(r, 0.05f, N, K), b = randn(r, 0.1f, N);
                Tensor y = onGpu(g, t -> g.linear(t[0], t[1], t[2]), x, w, b);
                float[] xv = x.toArray(), wv = w.toArray(), bv = b.toArray();
                for (int i = 0; i < 2000; i++) {
                    int m = r.nextInt(M), n = r.nextInt(N);
                    double acc = bv[n], sc = Math.abs(bv[n]);
                    for (int k = 0; k < K; k++) {
                        double p = (double) xv[m * K + k] * wv[n * K + k];
                        acc += p;
                        sc += Math.abs(p);
                    }
                    double err = Math.abs(y.get((long) m * N + n) - acc);
                    if (!(err <= rtol(mode) * sc)) {
                        fail(mode + " linear " + M + "x" + K + "→" + N + " at (" + m + ", " + n + "): " + y.get((long) m * N + n)
                                + " vs " + acc + " (|a||b| sum " + sc + ")");
                    }
                }
            }
        }
    }

    /**
     * SAM-B global attention (12 heads × 4096 tokens, d 64, rel-pos), fused and in score tiles: matches the CPU
     * reference, and the pool's peak stays far below the 805 MB a whole [12, 4096, 4096] score tensor would take.
     */
    @Test
    void globalAttentionNeverHoldsAllScores() {
        Random r = new Random(22);
        int B = 12, S = 64, N = S * S, d = 64;
        Tensor q = randn(r, 1f, B, N, d), k = randn(r, 1f, B, N, d), v = randn(r, 1f, B, N, d);
        Tensor rh = randn(r, 0.3f, S, S, d), rw = randn(r, 0.3f, S, S, d);
        Tensor expected = new dev.segsam.tensor.fast.FastCpuBackend().attention(q, k, v, 0.125f, new Backend.RelPos(rh, rw, S, S, S, S));
        for (Options.AttentionKind kind : Options.AttentionKind.values()) {
            CudaBackend g = cuda(GemmEngine.FP32_TILED, kind);
            Tensor got;
            try (Tensor dq = g.upload(q); Tensor dk = g.upload(k); Tensor dv = g.upload(v); Tensor drh = g.upload(rh); Tensor drw = g.upload(rw)) {
                g.runtime().pool.resetPeak();
                long before = g.memoryStats().inUseBytes();
                try (Tensor out = g.attention(dq, dk, dv, 0.125f, new Backend.RelPos(drh, drw, S, S, S, S))) {
                    long extra = g.memoryStats().peakInUseBytes() - before;
                    assertTrue(extra < 200L << 20, kind + " attention used " + (extra >> 20) + " MiB beyond its inputs (whole scores: 768 MiB)");
                    got = g.download(out);
                }
            }
            Compare.close(expected, got, 1e-4, 1e-4 * 4, kind + " global attention");
        }
    }

    /** Several threads issuing ops at once (model inference is multi-threaded): each gets its own right answers. */
    @Test
    void manyThreads() throws Exception {
        CudaBackend g = cuda();
        ExecutorService pool = Executors.newFixedThreadPool(6);
        try {
            List<Future<?>> fs = new ArrayList<>();
            for (int t = 0; t < 6; t++) {
                int seed = t;
                fs.add(pool.submit(() -> {
                    Random r = new Random(seed);
                    for (int i = 0; i < 20; i++) {
                        Tensor x = randn(r, 1f, 33, 48), w = randn(r, 0.2f, 40, 48), b = randn(r, 0.2f, 40);
                        Tensor expected = cpu.softmax(cpu.gelu(cpu.linear(x, w, b)));
                        Tensor got = onGpu(g, a -> {
                            try (Tensor h = g.linearGelu(a[0], a[1], a[2])) {
                                return g.softmax(h);
                            }
                        }, x, w, b);
                        Compare.close(expected, got, 1e-4, 1e-6, "thread " + seed + " round " + i);
                    }
                    return null;
                }));
            }
            for (Future<?> f : fs) f.get();
        } finally {
            pool.shutdown();
        }
    }

    /** cuBLAS is used where it loads and said so in one line where it does not (CUDA-13 hosts). */
    @Test
    void cublasIsOptional() {
        String why = CudaBackend.cublasUnavailableReason();
        if (why != null) {
            assertFalse(why.contains("\n"), why);
            System.out.println("cuBLAS: " + why);
            Options cublas = Options.defaults().withGemm(Options.GemmEngine.CUBLAS, Options.GemmPrecision.FP32);
            assertEquals(GemmEngine.FP32_TILED, CudaBackend.create(cublas).gemmEngine(), "falls back to segsam's kernels");
        } else {
            System.out.println("cuBLAS: available");
        }
    }

    /** With a GPU, auto selects CUDA and cuda works; the provider reports no reason. */
    @Test
    void deviceSelection() {
        assertNull(new CudaBackendProvider().unavailableReason());
        assertEquals(Device.CUDA, Backends.select(Device.AUTO).device());
        assertEquals(Device.CUDA, Backends.select(Device.CUDA).device());
        assertNull(device.selfTest());
    }
}
