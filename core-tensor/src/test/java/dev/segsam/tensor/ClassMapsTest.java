package dev.segsam.tensor;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.segsam.tensor.fast.FastCpuBackend;
import java.lang.reflect.InvocationHandler;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Proxy;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * {@link Backend#classMaps}: a case worked by hand; the reference against its default composition from other ops (the
 * path of backends without a kernel, e.g. CUDA today); the fast backend bit for bit against the reference.
 */
class ClassMapsTest {
    /**
     * One image, 2 classes, 3 pixels: logits (0, ln 3) → p = (¼, ¾), label 1; (ln 3, 0) → (¾, ¼), label 0; (0, 0) → (½, ½),
     * label 0 (first maximum). Means over the label-≠-0 pixel: (¼, ¾). With pixels (ln 3, 0), (ln 3, 0), (0, 0) every label
     * is 0 and the region (pixels 1, 2) is used: ((¾ + ½)/2, (¼ + ½)/2) = (⅝, ⅜); with an empty region too (≤ 0, NaN),
     * zeros.
     */
    @Test
    void workedByHand() {
        float ln3 = (float) Math.log(3);
        Backend b = new CpuBackend();
        try (Backend.ClassMaps m = b.classMaps(Tensor.of(new float[] {0, ln3, 0, ln3, 0, 0}, 1, 2, 1, 3), Tensor.of(new float[] {-1, 1, 1}, 1, 1, 1, 3))) {
            assertArrayEquals(new float[] {1, 0, 0}, m.labels().toArray());
            assertArrayEquals(new int[] {1, 1, 3}, m.labels().shape());
            assertArrayEquals(new float[] {0.75f, 0.25f, 0.5f}, m.foreground().toArray(), 1e-7f);
            assertArrayEquals(new float[] {0.25f, 0.75f}, m.means().toArray(), 1e-7f);
            assertArrayEquals(new int[] {1, 2}, m.means().shape());
        }
        try (Backend.ClassMaps m = b.classMaps(Tensor.of(new float[] {ln3, ln3, 0, 0, 0, 0}, 1, 2, 1, 3), Tensor.of(new float[] {-1, 1, 1}, 1, 1, 1, 3))) {
            assertArrayEquals(new float[] {0, 0, 0}, m.labels().toArray());
            assertArrayEquals(new float[] {0.625f, 0.375f}, m.means().toArray(), 1e-7f);
        }
        try (Backend.ClassMaps m = b.classMaps(Tensor.of(new float[] {ln3, 0, 0, 0, 0, 0}, 1, 2, 1, 3), Tensor.of(new float[] {0, -1, Float.NaN}, 1, 1, 1, 3))) {
            assertArrayEquals(new float[] {0, 0}, m.means().toArray());
        }
        var e = assertThrows(IllegalArgumentException.class, () -> b.classMaps(Tensor.zeros(1, 2, 3, 3), Tensor.zeros(1, 2, 3, 3)));
        assertTrue(e.getMessage().contains("region must be [1, 1, 3, 3]"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> b.classMaps(Tensor.zeros(2, 3, 3), Tensor.zeros(2, 1, 3, 3)));
    }

    /** {@code b} with {@link Backend#classMaps} (only) run as its default composition. */
    static Backend composed(Backend b) {
        InvocationHandler h = (proxy, m, a) -> {
            try {
                return m.getName().equals("classMaps") ? InvocationHandler.invokeDefault(proxy, m, a) : m.invoke(b, a);
            } catch (InvocationTargetException ex) {
                throw ex.getCause();
            }
        };
        return (Backend) Proxy.newProxyInstance(Backend.class.getClassLoader(), new Class<?>[] {Backend.class}, h);
    }

    @Test
    void defaultCompositionAndFastBackendAgreeWithTheReference() {
        Random r = new Random(9);
        int B = 2, K = 5, H = 13, W = 17;
        float[] logits = new float[B * K * H * W], region = new float[B * H * W];
        for (int i = 0; i < logits.length; i++) logits[i] = (float) (3 * r.nextGaussian());
        for (int i = 0; i < region.length; i++) region[i] = (float) r.nextGaussian();
        // image 1: class 0 wins everywhere, so its means come from the region
        for (int k = 1; k < K; k++) for (int i = 0; i < H * W; i++) logits[(K + k) * H * W + i] -= 20;
        Tensor x = Tensor.of(logits, B, K, H, W), reg = Tensor.of(region, B, 1, H, W);
        Backend ref = new CpuBackend();
        try (Backend.ClassMaps want = ref.classMaps(x, reg)) {
            float[] labels = want.labels().toArray();
            for (int i = H * W; i < 2 * H * W; i++) assertEquals(0, labels[i], "image 1 is all class 0");
            for (Backend b : List.of(new FastCpuBackend(1), new FastCpuBackend(3))) {
                try (Backend.ClassMaps got = b.classMaps(x, reg)) {
                    assertArrayEquals(want.labels().toArray(), got.labels().toArray(), b.name());
                    assertArrayEquals(want.foreground().toArray(), got.foreground().toArray(), b.name());
                    assertArrayEquals(want.means().toArray(), got.means().toArray(), b.name());
                }
            }
            for (Backend base : List.of(ref, (Backend) new FastCpuBackend(2))) {
                try (Backend.ClassMaps got = composed(base).classMaps(x, reg)) {
                    String what = "default composition over " + base.name();
                    assertArrayEquals(want.labels().toArray(), got.labels().toArray(), what);
                    assertArrayEquals(new int[] {B, H, W}, got.foreground().shape(), what);
                    assertArrayEquals(want.foreground().toArray(), got.foreground().toArray(), 2e-7f, what);
                    assertArrayEquals(new int[] {B, K}, got.means().shape(), what);
                    assertArrayEquals(want.means().toArray(), got.means().toArray(), 1e-6f, what);
                }
            }
        }
    }
}
