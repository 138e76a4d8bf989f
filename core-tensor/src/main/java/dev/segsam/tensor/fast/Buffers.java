package dev.segsam.tensor.fast;

/**
 * Per-thread scratch arrays for the fast backend's chunked loops, so hot loops allocate nothing: {@code get(slot, n)}
 * returns this thread's array for {@code slot} (a few slots per op), grown to at least {@code n} floats and never
 * shrunk. Contents are unspecified. A caller must not hold a slot across a call that may use the same slot.
 */
final class Buffers {
    private Buffers() {}

    static final int SLOTS = 4;
    private static final ThreadLocal<float[][]> ARRAYS = ThreadLocal.withInitial(() -> new float[SLOTS][0]);

    static float[] get(int slot, int n) {
        float[][] a = ARRAYS.get();
        if (a[slot].length < n) a[slot] = new float[n];
        return a[slot];
    }
}
