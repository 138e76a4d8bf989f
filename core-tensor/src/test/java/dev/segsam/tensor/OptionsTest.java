package dev.segsam.tensor;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.segsam.tensor.fast.FastCpuBackend;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.BrokenBarrierException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * {@link Options}: every documented {@code segsam.*} property has the effect its README row promises (one case per
 * property; a property without a case fails), bad values fail in one line naming the property, the README table is
 * {@link Options#PROPERTIES}, and backends made from different options coexist in one JVM.
 */
class OptionsTest {
    @AfterEach
    void switchOffTheTestProvider() {
        TestCudaProvider.reset();
    }

    private static Options opts(String... keyValues) {
        Map<String, String> m = new HashMap<>();
        for (int i = 0; i < keyValues.length; i += 2) m.put(keyValues[i], keyValues[i + 1]);
        return Options.fromProperties(m);
    }

    static Stream<String> properties() {
        return Options.PROPERTIES.stream().map(Options.Property::name);
    }

    /** The effect of each property, checked through what the library does with it. */
    @ParameterizedTest
    @MethodSource("properties")
    void everyPropertyHasItsDocumentedEffect(String name) {
        switch (name) {
            case "segsam.device" -> {
                TestCudaProvider.available = true;
                assertEquals(Device.CPU, Backends.select(opts(name, "cpu")).device(), "cpu even with a CUDA provider");
                assertEquals(0, TestCudaProvider.created, "device cpu must not create the CUDA backend");
                assertEquals("test-cuda", Backends.select(opts(name, "cuda")).name());
                assertEquals("test-cuda", Backends.select(opts(name, "auto")).name());
                assertEquals(Device.AUTO, opts().device(), "default auto");
                TestCudaProvider.available = false;
                assertEquals(Device.CPU, Backends.select(opts(name, "auto")).device(), "auto falls back to the CPU");
                var e = assertThrows(Backends.BackendUnavailableException.class, () -> Backends.select(opts(name, "cuda")));
                assertTrue(e.getMessage().contains("switched off"), e.getMessage());
            }
            case "segsam.cpu" -> {
                assertInstanceOf(CpuBackend.class, Backends.select(opts(name, "reference", "segsam.device", "cpu")));
                assertInstanceOf(FastCpuBackend.class, Backends.select(opts(name, "fast", "segsam.device", "cpu")));
                assertInstanceOf(FastCpuBackend.class, Backends.cpu(opts()), "default auto: fast where the JVM has the Vector API");
                assertInstanceOf(FastCpuBackend.class, Backends.select(opts(name, "auto", "segsam.device", "cpu")));
                assertEquals(Options.CpuKind.AUTO, opts().cpu(), "default auto");
                // without the Vector API: auto warns once (naming the JVM option) and computes on the reference, fast fails
                java.util.List<String> warnings = new java.util.ArrayList<>();
                java.util.concurrent.atomic.AtomicBoolean warned = new java.util.concurrent.atomic.AtomicBoolean();
                for (int i = 0; i < 3; i++) {
                    assertInstanceOf(CpuBackend.class, Backends.cpu(opts(name, "auto"), false, warned, warnings::add));
                }
                assertEquals(1, warnings.size(), "one warning per JVM, not one per backend: " + warnings);
                assertTrue(warnings.get(0).contains("--add-modules jdk.incubator.vector"), warnings.get(0));
                var e = assertThrows(Backends.BackendUnavailableException.class,
                        () -> Backends.cpu(opts(name, "fast"), false, new java.util.concurrent.atomic.AtomicBoolean(), warnings::add));
                assertTrue(e.getMessage().contains("--add-modules jdk.incubator.vector"), e.getMessage());
                assertInstanceOf(CpuBackend.class, Backends.cpu(opts(name, "reference"), false, new java.util.concurrent.atomic.AtomicBoolean(), warnings::add));
                assertEquals(1, warnings.size(), "fast and reference never warn");
            }
            case "segsam.threads" -> {
                for (String cpu : new String[] {"fast", "reference"}) {
                    assertEquals(1, Backends.cpu(opts(name, "1", "segsam.cpu", cpu)).parallel().threads(), cpu);
                    assertEquals(3, Backends.cpu(opts(name, "3", "segsam.cpu", cpu)).parallel().threads(), cpu);
                }
                assertEquals(Runtime.getRuntime().availableProcessors(), Backends.cpu(opts()).parallel().threads(), "default all cores");
            }
            case "segsam.cuda" -> {
                TestCudaProvider.available = true;
                assertEquals(Device.CPU, Backends.select(opts(name, "off")).device(), "auto with the probe off");
                var e = assertThrows(Backends.BackendUnavailableException.class, () -> Backends.select(opts(name, "off", "segsam.device", "cuda")));
                assertTrue(e.getMessage().contains("segsam.cuda=off"), e.getMessage());
                assertEquals(0, TestCudaProvider.created);
                assertTrue(Backends.describeProviders(opts(name, "off")).stream().anyMatch(l -> l.contains("probe is off")));
                assertEquals("test-cuda", Backends.select(opts(name, "on")).name(), "default on");
            }
            case "segsam.gemm" -> {
                assertEquals(Options.GemmEngine.CUBLAS, cudaOptions(name, "cublas").gemmEngine());
                assertEquals(Options.GemmEngine.OURS, cudaOptions(name, "ours").gemmEngine());
                assertEquals(Options.GemmEngine.OURS, cudaOptions().gemmEngine(), "default ours");
            }
            case "segsam.gemm.precision" -> {
                assertEquals(Options.GemmPrecision.TF32, cudaOptions(name, "tf32").gemmPrecision());
                assertEquals(Options.GemmPrecision.FP32, cudaOptions().gemmPrecision(), "default fp32");
            }
            case "segsam.cuda.sync" -> {
                assertTrue(cudaOptions(name, "true").cudaSync());
                assertFalse(cudaOptions().cudaSync(), "default false");
            }
            case "segsam.cuda.poolCacheMiB" -> {
                assertEquals(128, cudaOptions(name, "128").cudaPoolCacheMiB());
                assertEquals(0, cudaOptions(name, "0").cudaPoolCacheMiB());
                assertEquals(-1, cudaOptions(name, "unlimited").cudaPoolCacheMiB());
                assertEquals(-1, cudaOptions().cudaPoolCacheMiB(), "default unlimited");
            }
            case "segsam.cuda.attention" -> {
                assertEquals(Options.AttentionKind.TILED, cudaOptions(name, "tiled").cudaAttention());
                assertEquals(Options.AttentionKind.FLASH, cudaOptions().cudaAttention(), "default flash");
            }
            case "segsam.cuda.attentionTileMiB" -> {
                assertEquals(32, cudaOptions(name, "32").cudaAttentionTileMiB());
                assertEquals(64, cudaOptions().cudaAttentionTileMiB(), "default 64");
            }
            case "segsam.predict.batch" -> {
                // the predictor's use of it is tested in the model module (PredictorBatchTest)
                assertEquals(7, opts(name, "7").predictBatch());
                assertEquals(0, opts().predictBatch(), "default 0: by device (the predictor chooses)");
                assertEquals(0, opts(name, "0").predictBatch());
                assertThrows(IllegalArgumentException.class, () -> opts(name, "-1"));
            }
            default -> fail("no test for the documented property " + name + ": add a case here");
        }
    }

    /** The options the (test) CUDA provider was created with, for {@code device=cuda} plus {@code keyValues}. */
    private static Options cudaOptions(String... keyValues) {
        TestCudaProvider.available = true;
        List<String> kv = new ArrayList<>(List.of(keyValues));
        kv.addAll(List.of("segsam.device", "cuda"));
        Options o = opts(kv.toArray(String[]::new));
        assertEquals("test-cuda", Backends.select(o).name());
        assertEquals(o, TestCudaProvider.lastOptions, "the provider must get the options unchanged");
        return TestCudaProvider.lastOptions;
    }

    @ParameterizedTest
    @MethodSource("properties")
    void aBadValueFailsInOneLineNamingTheProperty(String name) {
        var e = assertThrows(IllegalArgumentException.class, () -> opts(name, "bogus"));
        assertTrue(e.getMessage().startsWith(name + " must be "), e.getMessage());
        assertTrue(e.getMessage().contains("'bogus'"), e.getMessage());
        assertFalse(e.getMessage().contains("\n"), e.getMessage());
    }

    @Test
    void valuesAreTrimmedAndCaseInsensitiveAndUnknownKeysIgnored() {
        Options o = opts("segsam.cpu", " Reference ", "segsam.device", "CPU", "segsam.threads", " 2", "segsam.unknown", "x", "other", "y");
        assertEquals(Options.defaults().withCpu(Options.CpuKind.REFERENCE).withDevice(Device.CPU).withThreads(2), o);
        assertEquals(Options.defaults(), opts());
        assertThrows(IllegalArgumentException.class, () -> opts("segsam.threads", "0"));
        assertThrows(IllegalArgumentException.class, () -> Options.defaults().withThreads(0));
    }

    @Test
    void systemPropertiesAreReadOnlyWhenAsked() {
        String old = System.getProperty("segsam.threads");
        System.setProperty("segsam.threads", "1");
        try {
            assertEquals(1, Options.fromSystemProperties().threads());
            assertEquals(Runtime.getRuntime().availableProcessors(), Options.defaults().threads(), "defaults ignore the property");
            assertEquals(Runtime.getRuntime().availableProcessors(), Backends.cpu().parallel().threads(), "so do the no-options factories");
        } finally {
            if (old == null) System.clearProperty("segsam.threads");
            else System.setProperty("segsam.threads", old);
        }
    }

    /** The README's knobs table lists exactly {@link Options#PROPERTIES}, in order, with the same words. */
    @Test
    void readmeTableIsTheOptionsTable() throws Exception {
        Path readme = Path.of("..", "README.md");
        String text = Files.readString(readme);
        StringBuilder want = new StringBuilder();
        for (Options.Property p : Options.PROPERTIES) {
            String d = p.defaultValue().contains(" ") ? p.defaultValue() : "`" + p.defaultValue() + "`"; // values as code, prose not
            want.append("| `").append(p.name()).append("` | ").append(p.meaning()).append(" | ").append(d).append(" |\n");
        }
        assertTrue(text.contains(want), "README.md's knobs table must contain these rows (generated from Options.PROPERTIES):\n" + want);
    }

    /** Two fast backends with 1 and 3 threads used at the same time from two threads: each keeps its count, same bits. */
    @Test
    void backendsWithDifferentThreadCountsRunSideBySide() throws Exception {
        Backend one = Backends.cpu(Options.defaults().withThreads(1)), three = Backends.cpu(Options.defaults().withThreads(3));
        assertEquals(1, one.parallel().threads());
        assertEquals(3, three.parallel().threads());
        Random r = new Random(3);
        float[] av = new float[257 * 300], bv = new float[300 * 129];
        for (int i = 0; i < av.length; i++) av[i] = (float) r.nextGaussian();
        for (int i = 0; i < bv.length; i++) bv[i] = (float) r.nextGaussian();
        Tensor a = Tensor.of(av, 257, 300), b = Tensor.of(bv, 300, 129);
        ExecutorService pool = Executors.newFixedThreadPool(2);
        try {
            for (int round = 0; round < 3; round++) {
                Future<float[]> x = pool.submit(() -> one.matmul(a, b).toArray());
                Future<float[]> y = pool.submit(() -> three.matmul(a, b).toArray());
                assertArrayEquals(x.get(), y.get(), "the thread count must not change the bits");
            }
        } finally {
            pool.shutdownNow();
        }
        assertEquals(1, one.parallel().threads());
        assertEquals(3, three.parallel().threads());
    }

    /** {@link Parallel}: one thread runs on the caller; n threads really run n bodies at once, and never more. */
    @Test
    void parallelUsesExactlyItsThreads() throws Exception {
        Set<Thread> seen = ConcurrentHashMap.newKeySet();
        Parallel.of(1).forRange(50, i -> seen.add(Thread.currentThread()));
        assertEquals(Set.of(Thread.currentThread()), seen);
        assertEquals(Parallel.SEQUENTIAL, Parallel.of(1));

        for (int n : new int[] {2, 3}) {
            CyclicBarrier all = new CyclicBarrier(n);
            Set<Thread> workers = ConcurrentHashMap.newKeySet();
            // every body waits for n − 1 others: completes only if n bodies run at the same time
            Parallel.of(n).forRange(n, i -> {
                workers.add(Thread.currentThread());
                try {
                    all.await(20, TimeUnit.SECONDS);
                } catch (InterruptedException | BrokenBarrierException | TimeoutException e) {
                    throw new AssertionError(n + " threads did not run " + n + " bodies at once", e);
                }
            });
            assertEquals(n, workers.size());
            Set<Thread> used = ConcurrentHashMap.newKeySet();
            Parallel.of(n).forRange(200, i -> used.add(Thread.currentThread()));
            assertTrue(used.size() <= n, used.size() + " threads used by a " + n + "-thread Parallel");
        }
        assertNotEquals(Parallel.of(2), Parallel.of(3));
        assertThrows(IllegalArgumentException.class, () -> Parallel.of(0));
    }
}
