package dev.segsam.tensor.fast;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import jdk.incubator.vector.FloatVector;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * {@link VectorMath#exp(FloatVector)}: accuracy against the correctly rounded {@code (float) Math.exp(x)}, the special
 * values, and bit equality with its scalar twin {@link VectorMath#exp(float)} (the property that makes results
 * independent of whether the JIT has compiled the Vector API calls); {@link VectorMath#sumLanes}'s fixed order.
 */
class VectorMathTest {
    @BeforeEach
    void need() {
        assumeTrue(Sgemm.available(), "Vector API not present: run the JVM with --add-modules jdk.incubator.vector (the build's test JVMs have it)");
    }

    /** Every float step of ~1e-4 over the normal range, in whole vectors: ≤ 1 ulp, and each lane equals the scalar. */
    @Test
    void expWithinOneUlpAndEqualToTheScalarTwin() {
        int lanes = VectorMath.lanes();
        float[] x = new float[lanes], y = new float[lanes];
        long worst = 0;
        float at = Float.NaN;
        int checked = 0;
        for (float start = -87.3f; start < 88.7f; start = x[lanes - 1] + 1e-4f) {
            for (int l = 0; l < lanes; l++) x[l] = Math.min(88.7f, start + l * 1e-4f);
            VectorMath.exp(FloatVector.fromArray(FloatVector.SPECIES_PREFERRED, x, 0)).intoArray(y, 0);
            for (int l = 0; l < lanes; l++) {
                float scalar = VectorMath.exp(x[l]);
                if (Float.floatToRawIntBits(scalar) != Float.floatToRawIntBits(y[l])) {
                    fail("exp(" + x[l] + "): vector lane " + y[l] + ", scalar " + scalar);
                }
                long ulps = Math.abs((long) Float.floatToIntBits((float) Math.exp(x[l])) - Float.floatToIntBits(y[l]));
                if (ulps > worst) {
                    worst = ulps;
                    at = x[l];
                }
                checked++;
            }
        }
        assertTrue(checked > 1_700_000, "checked " + checked);
        assertTrue(worst <= 1, "exp is " + worst + " ulps off at " + at);
    }

    /**
     * {@link VectorMath#sumLanes}: exactly the pairwise order it documents (lane j += lane (j + h) mod L for
     * h = L/2 … 1), replayed here in scalar Java on values of very different magnitudes, where any other order
     * gives other bits; and a sum (close to the double-precision one).
     */
    @Test
    void sumLanesUsesTheDocumentedPairwiseOrder() {
        int lanes = VectorMath.lanes();
        java.util.Random r = new java.util.Random(3);
        float[] v = new float[lanes];
        for (int trial = 0; trial < 10_000; trial++) {
            double exact = 0, mag = 0;
            for (int l = 0; l < lanes; l++) {
                v[l] = (float) (r.nextGaussian() * Math.pow(10, r.nextInt(7)));
                exact += v[l];
                mag += Math.abs(v[l]);
            }
            float[] t = v.clone();
            for (int h = lanes / 2; h >= 1; h /= 2) {
                float[] next = new float[lanes];
                for (int j = 0; j < lanes; j++) next[j] = t[j] + t[(j + h) % lanes];
                t = next;
            }
            float got = VectorMath.sumLanes(FloatVector.fromArray(FloatVector.SPECIES_PREFERRED, v, 0));
            if (Float.floatToRawIntBits(got) != Float.floatToRawIntBits(t[0])) fail("trial " + trial + ": " + got + ", pairwise " + t[0]);
            assertTrue(Math.abs(got - exact) <= lanes * 0x1p-24 * mag, "trial " + trial + ": " + got + " vs " + exact);
        }
    }

    @Test
    void expSpecialValues() {
        assertEquals(1f, VectorMath.exp(0f));
        assertEquals(1f, VectorMath.exp(-0f));
        assertEquals((float) Math.E, VectorMath.exp(1f));
        assertEquals(0f, VectorMath.exp(Float.NEGATIVE_INFINITY));
        assertEquals(0f, VectorMath.exp(-200f));
        assertEquals(Float.POSITIVE_INFINITY, VectorMath.exp(Float.POSITIVE_INFINITY));
        assertEquals(Float.POSITIVE_INFINITY, VectorMath.exp(88.73f)); // e^88.73 > Float.MAX_VALUE
        assertTrue(Float.isNaN(VectorMath.exp(Float.NaN)));
        // the top of the range (2^128 scale in two factors) and subnormal results
        for (float v : new float[] {88.72f, 88.5f, -90f, -100f, -103f}) {
            float want = (float) Math.exp(v), got = VectorMath.exp(v);
            assertTrue(Math.abs(Float.floatToIntBits(want) - Float.floatToIntBits(got)) <= 1, "exp(" + v + "): " + got + ", want " + want);
        }
        assertEquals(VectorMath.exp(-100f),
                VectorMath.exp(FloatVector.broadcast(FloatVector.SPECIES_PREFERRED, -100f)).lane(0), "a subnormal lane");
    }

    /**
     * The HAND-INLINED loops spell out {@link VectorMath#exp(FloatVector)} and {@link VectorMath#geluVector}: they must
     * give the same bits, lane for lane, on values across and beyond the ranges (−∞, −0, huge, tiny, NaN), with a
     * scalar tail; expShifted's sum must be {@link VectorMath#sumLanes} of the vector partial sums plus the tail.
     */
    @Test
    void handInlinedLoopsEqualTheVectorFunctions() {
        int lanes = VectorMath.lanes(), n = 40 * lanes + 5;
        java.util.Random r = new java.util.Random(11);
        float[] x = new float[n];
        for (int i = 0; i < n; i++) x[i] = (float) (r.nextGaussian() * (i % 3 == 0 ? 40 : 3));
        float[] specials = {Float.NEGATIVE_INFINITY, Float.POSITIVE_INFINITY, Float.NaN, -0f, 0f, 1e-30f, -1e-30f, 89f, -104f, -200f, 300f};
        System.arraycopy(specials, 0, x, 7, specials.length);
        var sp = FloatVector.SPECIES_PREFERRED;
        int vecEnd = sp.loopBound(n);

        // gelu between segments (in place, as linearGelu's store uses it) against geluVector / gelu(float)
        java.lang.foreign.MemorySegment seg = java.lang.foreign.MemorySegment.ofArray(x.clone());
        VectorMath.gelu(seg, 0, seg, 0, n);
        float[] want = new float[n];
        for (int i = 0; i < vecEnd; i += lanes) VectorMath.geluVector(FloatVector.fromArray(sp, x, i)).intoArray(want, i);
        for (int i = vecEnd; i < n; i++) want[i] = VectorMath.gelu(x[i]);
        for (int i = 0; i < n; i++) {
            float got = seg.getAtIndex(java.lang.foreign.ValueLayout.JAVA_FLOAT, i);
            assertEquals(Float.floatToRawIntBits(want[i]), Float.floatToRawIntBits(got), "gelu(" + x[i] + ") at " + i + ": " + got + " vs " + want[i]);
        }

        // expShifted against exp lanes, its sum against sumLanes of the lane-wise partial sums, then the scalar tail
        float shift = 2.5f;
        float[] v = x.clone();
        for (int i = 0; i < n; i++) if (Float.isNaN(v[i]) || v[i] == Float.POSITIVE_INFINITY) v[i] = 1f; // keep the sum finite
        float[] e = v.clone();
        float sum = VectorMath.expShifted(e, 0, n, shift);
        FloatVector acc = FloatVector.zero(sp);
        for (int i = 0; i < vecEnd; i += lanes) {
            FloatVector y = VectorMath.exp(FloatVector.fromArray(sp, v, i).sub(shift));
            acc = acc.add(y);
            for (int l = 0; l < lanes; l++) {
                assertEquals(Float.floatToRawIntBits(y.lane(l)), Float.floatToRawIntBits(e[i + l]), "exp(" + v[i + l] + " - " + shift + ")");
            }
        }
        float wantSum = VectorMath.sumLanes(acc);
        for (int i = vecEnd; i < n; i++) wantSum += VectorMath.exp(v[i] - shift);
        assertEquals(Float.floatToRawIntBits(wantSum), Float.floatToRawIntBits(sum), "sum " + sum + " vs " + wantSum);
    }
}
