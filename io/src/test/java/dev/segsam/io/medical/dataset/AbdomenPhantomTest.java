package dev.segsam.io.medical.dataset;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.segsam.io.medical.Axis;
import dev.segsam.io.medical.Volume;
import dev.segsam.io.medical.intensity.CtWindow;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

class AbdomenPhantomTest {
    @Test
    void deterministicBySeed() {
        AbdomenPhantom.Slice a = AbdomenPhantom.generate(42, 128), b = AbdomenPhantom.generate(42, 128), c = AbdomenPhantom.generate(43, 128);
        assertArrayEquals(a.hu(), b.hu());
        assertArrayEquals(a.labels(), b.labels());
        assertFalse(java.util.Arrays.equals(a.hu(), c.hu()));
        assertThrows(IllegalArgumentException.class, () -> AbdomenPhantom.generate(1, 32));
    }

    static double[] centroid(InstanceMask m) {
        double sx = 0, sy = 0;
        int n = 0;
        for (int y = 0; y < m.height(); y++) for (int x = 0; x < m.width(); x++) if (m.get(x, y)) {
            sx += x;
            sy += y;
            n++;
        }
        return new double[] {sx / n, sy / n};
    }

    static double meanHu(AbdomenPhantom.Slice s, InstanceMask m) {
        double sum = 0;
        int n = 0;
        for (int i = 0; i < m.mask().length; i++) if (m.mask()[i] != 0) {
            sum += s.hu()[i];
            n++;
        }
        return sum / n;
    }

    /** Over 20 seeds: every organ present, masks disjoint, plausible HU and anatomy (radiological layout). */
    @Test
    void organsArePresentPlausibleAndInPlace() {
        for (long seed = 0; seed < 20; seed++) {
            AbdomenPhantom.Slice s = AbdomenPhantom.generate(seed, 256);
            Map<String, InstanceMask> m = new HashMap<>();
            for (InstanceMask im : s.masks()) m.put(im.className(), im);
            assertEquals(7, m.size(), "seed " + seed + ": " + m.keySet());
            byte[] cover = new byte[256 * 256];
            for (InstanceMask im : s.masks()) {
                assertEquals(1, im.instance());
                for (int i = 0; i < cover.length; i++) if (im.mask()[i] != 0) assertEquals(0, cover[i]++, "masks overlap, seed " + seed);
            }
            assertTrue(m.get("liver").area() > 2500, "liver area " + m.get("liver").area());
            assertTrue(m.get("aorta").area() > 50);
            String ctx = "seed " + seed;
            assertBetween(meanHu(s, m.get("liver")), 80, 120, ctx + " liver HU");
            assertBetween(meanHu(s, m.get("spleen")), 90, 130, ctx + " spleen HU");
            assertBetween(meanHu(s, m.get("kidney_left")), 105, 165, ctx + " kidney HU");
            assertBetween(meanHu(s, m.get("aorta")), 120, 180, ctx + " aorta HU");
            assertTrue(meanHu(s, m.get("vertebra")) > 250, ctx + " vertebra HU");
            assertTrue(meanHu(s, m.get("stomach")) < 20, ctx + " stomach (fluid + gas) HU");
            // anatomy: patient right (liver, right kidney) on the image left, aorta anterior to the vertebra
            double[] liver = centroid(m.get("liver")), spleen = centroid(m.get("spleen")), vert = centroid(m.get("vertebra"));
            double[] kl = centroid(m.get("kidney_left")), kr = centroid(m.get("kidney_right")), ao = centroid(m.get("aorta"));
            assertTrue(liver[0] < 128 && spleen[0] > 128, ctx);
            assertTrue(kr[0] < vert[0] && vert[0] < kl[0], ctx);
            assertTrue(ao[1] < vert[1], ctx);
            assertTrue(s.hu()[0] < -950, "air in the corner");
        }
    }

    static void assertBetween(double v, double lo, double hi, String what) {
        assertTrue(v >= lo && v <= hi, what + " = " + v + ", expected " + lo + ".." + hi);
    }

    @Test
    void abdomenWindowLooksLikeCt() {
        AbdomenPhantom.Slice s = AbdomenPhantom.generate(7, 256);
        Sample sample = s.toSample(CtWindow.ABDOMEN);
        InstanceMask liver = sample.masks().stream().filter(x -> x.className().equals("liver")).findFirst().orElseThrow();
        double g = 0;
        for (int i = 0; i < liver.mask().length; i++) if (liver.mask()[i] != 0) g += sample.image().rgb()[3 * i] & 0xFF;
        g /= liver.area();
        assertBetween(g, 150, 180, "liver grey (100 HU in W400/L40 → 165)");
        assertEquals(0, sample.image().get(0, 0, 0), "air is black");
        assertEquals("phantom_000007", sample.id());
    }

    @Test
    void volumeAndDatasetViews() throws Exception {
        try (Volume v = AbdomenPhantom.generate(3, 128).toVolume()) {
            assertArrayEquals(new int[] {128, 128, 1}, v.dims());
            assertEquals("CT", v.modality().orElseThrow());
            assertEquals("int16", v.dataType());
            assertEquals(new Volume.SliceLayout(false, false, false), v.displayLayout(Axis.Z));
        }
        SegmentationDataset ds = AbdomenPhantom.dataset(100, 3, 128);
        assertEquals(3, ds.size());
        assertEquals(7, ds.classes().size());
        assertEquals("phantom_000102", ds.get(2).id());
        assertThrows(IndexOutOfBoundsException.class, () -> ds.get(3));
    }
}
