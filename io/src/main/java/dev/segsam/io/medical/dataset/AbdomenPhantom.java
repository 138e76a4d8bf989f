package dev.segsam.io.medical.dataset;

import dev.segsam.io.medical.Volume;
import dev.segsam.io.medical.intensity.CtWindow;
import dev.segsam.tensor.Tensor;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * Synthetic abdominal CT slices with organ masks, for tests and the demo: a deterministic function of (seed, size).
 *
 * <p>An axial slice at kidney level in the radiological layout (anterior up, patient left on the image right), in HU
 * of a portal-venous phase: air −1000 outside an elliptical body; subcutaneous fat (−100), abdominal wall muscle
 * (50), visceral fat (−90) with bowel loops (30, some with gas); liver (100, with brighter portal vessels) on the
 * patient's right, spleen (110) posterolateral left, stomach (wall 40, fluid 15, gas cap −950 on top: supine air-fluid
 * level) anterior left, kidneys (cortex 150, medulla 110, hilar fat notch) beside the spine, aorta (160) left
 * anterior of the vertebra and the IVC (130, unlabelled) right of it, paraspinal and psoas muscles, and a vertebra
 * (cortex 700, cancellous 250) with its spinal canal (10) and posterior elements. Sizes, positions, rotations and
 * outlines vary with the seed; each tissue gets a smooth texture, the image a 3×3 partial-volume blur and Gaussian
 * noise (σ 12 HU). Values are int16 HU clamped to [−1024, 3071].
 *
 * <p>Labelled classes ({@link #CLASSES}): 1 liver, 2 spleen, 3 kidney_left, 4 kidney_right, 5 stomach, 6 aorta,
 * 7 vertebra; one instance each, masks from the final label map (so masks never overlap).
 */
public final class AbdomenPhantom {
    public static final List<ClassInfo> CLASSES = List.of(new ClassInfo(1, "liver"), new ClassInfo(2, "spleen"),
            new ClassInfo(3, "kidney_left"), new ClassInfo(4, "kidney_right"), new ClassInfo(5, "stomach"),
            new ClassInfo(6, "aorta"), new ClassInfo(7, "vertebra"));

    // label ids of unlabelled tissues (> 100) and their base HU
    private static final int FAT = 101, MUSCLE = 102, VISCERAL = 103, BOWEL = 104, GAS = 105, IVC = 106, CANAL = 107;
    /** Renal medulla of kidney {@code id} is labelled {@code MEDULLA + id} (part of that kidney's mask). */
    private static final int MEDULLA = 200;

    /** Pixel spacing of the phantom, mm. */
    public static final double SPACING_MM = 0.8;

    /** One generated slice: HU values, the label map (class id 1..7 or 0/tissue ids > 100) and the organ masks. */
    public record Slice(long seed, int size, short[] hu, int[] labels, List<InstanceMask> masks) {
        /** A one-slice CT volume (int16 HU, 0.8 mm pixels, axial, displayed as generated). */
        public Volume toVolume() {
            float[] v = new float[hu.length];
            for (int i = 0; i < v.length; i++) v[i] = hu[i];
            double s = SPACING_MM;
            double[][] affine = {{-s, 0, 0, 0}, {0, -s, 0, 0}, {0, 0, s, 0}, {0, 0, 0, 1}};
            return Volume.builder(Tensor.of(v, 1, size, size)).spacing(s, s, s).affine(affine, Volume.AffineSource.DICOM_PATIENT)
                    .format("synthetic").dataType("int16").modality("CT").extra("phantom.seed", Long.toString(seed)).build();
        }

        /** The slice as a sample: windowed to 8-bit grey (RGB replicated) with its masks. */
        public Sample toSample(CtWindow window) {
            float[] v = new float[hu.length];
            for (int i = 0; i < v.length; i++) v[i] = hu[i];
            return new Sample(String.format("phantom_%06d", seed), window.fixed().toRgb(new dev.segsam.io.medical.Slice2D(size, size, v)), masks,
                    Map.of("seed", Long.toString(seed), "window", window.toString(), "source", "AbdomenPhantom"));
        }
    }

    private AbdomenPhantom() {}

    /** A data set of {@code count} slices with seeds {@code firstSeed, firstSeed + 1, ...}, abdomen window (W400/L40). */
    public static SegmentationDataset dataset(long firstSeed, int count, int size) {
        return new SegmentationDataset() {
            @Override
            public List<ClassInfo> classes() {
                return CLASSES;
            }

            @Override
            public int size() {
                return count;
            }

            @Override
            public Sample get(int index) {
                if (index < 0 || index >= count) throw new IndexOutOfBoundsException(index);
                return generate(firstSeed + index, size).toSample(CtWindow.ABDOMEN);
            }
        };
    }

    public static Slice generate(long seed, int size) {
        if (size < 64 || size > 4096) throw new IllegalArgumentException("phantom size must be 64..4096, got " + size);
        return new Painter(seed, size).paint();
    }

    private static final class Painter {
        final long seed;
        final int n;
        final Random r;
        final int[] lab;
        final float[] hu;

        Painter(long seed, int n) {
            this.seed = seed;
            this.n = n;
            this.r = new Random(seed);
            this.lab = new int[n * n];
            this.hu = new float[n * n];
        }

        double u(double lo, double hi) {
            return lo + (hi - lo) * r.nextDouble();
        }

        /** A rotated ellipse with a wobbly outline (low-order angular harmonics). */
        final class Blob {
            final double cx, cy, a, b, cos, sin;
            final double[] amp = new double[3], phase = new double[3];

            Blob(double cx, double cy, double a, double b, double angleDeg, double wobble) {
                this.cx = cx;
                this.cy = cy;
                this.a = Math.max(a, 1);
                this.b = Math.max(b, 1);
                cos = Math.cos(Math.toRadians(angleDeg));
                sin = Math.sin(Math.toRadians(angleDeg));
                for (int k = 0; k < 3; k++) {
                    amp[k] = wobble * r.nextDouble();
                    phase[k] = 2 * Math.PI * r.nextDouble();
                }
            }

            boolean contains(double x, double y) {
                double dx = x - cx, dy = y - cy;
                double u = (dx * cos + dy * sin) / a, v = (-dx * sin + dy * cos) / b;
                double rr = u * u + v * v;
                if (rr > 2) return false;
                double th = Math.atan2(v, u), rad = 1;
                for (int k = 0; k < 3; k++) rad += amp[k] * Math.sin((k + 2) * th + phase[k]);
                return rr <= rad * rad;
            }
        }

        void fill(Blob s, int label, java.util.function.IntPredicate where) {
            int x0 = (int) Math.max(0, Math.floor(s.cx - 1.5 * Math.max(s.a, s.b))), x1 = (int) Math.min(n - 1, Math.ceil(s.cx + 1.5 * Math.max(s.a, s.b)));
            int y0 = (int) Math.max(0, Math.floor(s.cy - 1.5 * Math.max(s.a, s.b))), y1 = (int) Math.min(n - 1, Math.ceil(s.cy + 1.5 * Math.max(s.a, s.b)));
            for (int y = y0; y <= y1; y++) {
                for (int x = x0; x <= x1; x++) {
                    int i = y * n + x;
                    if (s.contains(x + 0.5, y + 0.5) && where.test(lab[i])) lab[i] = label;
                }
            }
        }

        Slice paint() {
            double c = n / 2.0, S = n;
            // body, subcutaneous fat, abdominal wall muscle, visceral fat
            double bx = c + u(-0.015, 0.015) * S, by = c + u(0.02, 0.05) * S;
            double ba = u(0.40, 0.45) * S, bb = u(0.29, 0.33) * S;
            double fat = u(0.03, 0.06) * S, wall = u(0.014, 0.022) * S;
            Blob body = new Blob(bx, by, ba, bb, u(-3, 3), 0.01);
            Blob innerFat = new Blob(bx, by, ba - fat, bb - fat * 0.8, u(-3, 3), 0.015);
            Blob cavity = new Blob(bx, by, ba - fat - wall, bb - fat * 0.8 - wall, u(-3, 3), 0.015);
            fill(body, FAT, l -> true);
            fill(innerFat, MUSCLE, l -> l == FAT);
            fill(cavity, VISCERAL, l -> l == MUSCLE);
            java.util.function.IntPredicate inCavity = l -> l != 0 && l != FAT && l != MUSCLE;
            // bowel loops, some with gas
            int loops = 10 + r.nextInt(8);
            for (int k = 0; k < loops; k++) {
                double lx = bx + u(-0.6, 0.6) * (ba - fat), ly = by + u(-0.8, 0.35) * (bb - fat);
                double lr = u(0.018, 0.04) * S;
                fill(new Blob(lx, ly, lr, lr * u(0.6, 1.0), u(0, 180), 0.08), BOWEL, l -> l == VISCERAL);
                if (r.nextDouble() < 0.35) fill(new Blob(lx, ly - lr * 0.3, lr * 0.45, lr * 0.3, 0, 0.05), GAS, l -> l == BOWEL);
            }
            // spine geometry
            double rv = u(0.058, 0.068) * S;
            double vx = bx + u(-0.01, 0.01) * S, vy = by + (bb - fat) * u(0.5, 0.58);
            // paraspinal (posterior) and psoas muscles
            for (int side = -1; side <= 1; side += 2) {
                fill(new Blob(vx + side * rv * 1.55, vy + rv * 1.75, rv * 1.25, rv * 0.95, side * u(5, 20), 0.04), MUSCLE, l -> l != 0);
                fill(new Blob(vx + side * rv * 1.35, vy - rv * 0.15, rv * 0.6, rv * 0.75, side * u(0, 20), 0.04), MUSCLE, inCavity);
            }
            // liver (patient right = image left), vessels inside
            Blob liver = new Blob(bx - (ba - fat) * u(0.38, 0.5), by - (bb - fat) * u(0.05, 0.2), (ba - fat) * u(0.4, 0.5), (bb - fat) * u(0.55, 0.68), u(-15, 15), 0.05);
            fill(liver, 1, inCavity);
            // stomach (anterior left) with gas cap
            double sx = bx + (ba - fat) * u(0.2, 0.35), sy = by - (bb - fat) * u(0.35, 0.5), sa = (ba - fat) * u(0.2, 0.28), sb = (bb - fat) * u(0.22, 0.3);
            fill(new Blob(sx, sy, sa, sb, u(-30, 30), 0.05), 5, inCavity);
            // spleen (posterolateral left)
            fill(new Blob(bx + (ba - fat) * u(0.6, 0.7), by + (bb - fat) * u(0.05, 0.25), (ba - fat) * u(0.13, 0.18), (bb - fat) * u(0.3, 0.4), u(-40, -20), 0.05), 2, inCavity);
            // kidneys beside the spine: 3 = left (image right), 4 = right (image left)
            for (int side = -1; side <= 1; side += 2) {
                int id = side > 0 ? 3 : 4;
                double kx = vx + side * rv * u(2.5, 3.0), ky = vy + rv * u(-0.3, 0.2), ka = S * u(0.048, 0.058), kb = S * u(0.07, 0.085);
                double ang = side * u(15, 35);
                fill(new Blob(kx, ky, ka, kb, ang, 0.03), id, inCavity);
                fill(new Blob(kx - side * ka * 0.15, ky, ka * 0.55, kb * 0.6, ang, 0.03), MEDULLA + id, l -> l == id);
                fill(new Blob(kx - side * ka * 0.95, ky - kb * 0.1, ka * 0.35, kb * 0.3, ang, 0.02), VISCERAL, l -> l == id || l == MEDULLA + id);
            }
            // IVC (right) and aorta (left), anterior to the vertebra
            double ra = S * u(0.02, 0.028);
            fill(new Blob(vx - rv * 1.2, vy - rv - ra * 0.9, ra * 1.3, ra * 0.9, u(-10, 10), 0.02), IVC, inCavity);
            fill(new Blob(vx + rv * 0.45, vy - rv - ra - 1, ra, ra, 0, 0.0), 6, inCavity);
            // vertebra: body, canal, arch and spinous process
            fill(new Blob(vx, vy, rv, rv * u(0.88, 0.98), u(-5, 5), 0.01), 7, l -> l != 0);
            double canalY = vy + rv + rv * 0.5;
            fill(new Blob(vx, canalY, rv * 0.72, rv * 0.62, 0, 0.0), 7, l -> l != 0);
            fill(new Blob(vx, canalY + rv * 0.95, rv * 0.22, rv * 0.6, u(-5, 5), 0.02), 7, l -> l != 0);
            fill(new Blob(vx, canalY, rv * 0.45, rv * 0.38, 0, 0.0), CANAL, l -> l == 7);

            // HU from labels, with smooth per-tissue texture
            float[] field = smoothField(16);
            for (int i = 0; i < hu.length; i++) hu[i] = (float) (baseHu(lab[i], i) + textureAmp(lab[i]) * field[i]);
            paintDetails(liver, vx, vy, rv, sy, sb);
            blur3();
            for (int i = 0; i < hu.length; i++) {
                double v = hu[i] + (lab[i] == 0 ? 4 : 12) * r.nextGaussian();
                hu[i] = (float) Math.max(-1024, Math.min(3071, Math.rint(v)));
            }
            short[] out = new short[hu.length];
            for (int i = 0; i < out.length; i++) out[i] = (short) hu[i];
            List<InstanceMask> masks = new ArrayList<>();
            for (ClassInfo ci : CLASSES) {
                byte[] m = new byte[lab.length];
                int area = 0;
                for (int i = 0; i < m.length; i++) {
                    boolean in = lab[i] == ci.id() || lab[i] == MEDULLA + ci.id();
                    if (in) {
                        m[i] = 1;
                        area++;
                    }
                }
                if (area >= 10) masks.add(new InstanceMask(ci.id(), ci.name(), 1, n, n, m));
            }
            return new Slice(seed, n, out, lab.clone(), masks);
        }

        private double baseHu(int l, int i) {
            return switch (l) {
                case 0 -> -1000;
                case FAT -> -100;
                case MUSCLE -> 50;
                case VISCERAL -> -90;
                case BOWEL -> 30;
                case GAS -> -900;
                case IVC -> 130;
                case CANAL -> 10;
                case MEDULLA + 3, MEDULLA + 4 -> 110;
                case 1 -> 100;
                case 2 -> 110;
                case 3, 4 -> 150;
                case 5 -> 15;
                case 6 -> 160;
                case 7 -> 250;
                default -> 0;
            };
        }

        private double textureAmp(int l) {
            return switch (l) {
                case 0 -> 0;
                case FAT, VISCERAL -> 12;
                case BOWEL -> 15;
                case 7 -> 60;
                default -> 7;
            };
        }

        /** Liver vessels, stomach wall and gas cap, vertebral cortex. */
        private void paintDetails(Blob liver, double vx, double vy, double rv, double sy, double sb) {
            int vessels = 4 + r.nextInt(5);
            for (int k = 0; k < vessels; k++) {
                double px = liver.cx + u(-0.6, 0.6) * liver.a, py = liver.cy + u(-0.6, 0.6) * liver.b, pr = u(1.2, 3.0);
                for (int y = (int) (py - pr - 1); y <= py + pr + 1; y++) {
                    for (int x = (int) (px - pr - 1); x <= px + pr + 1; x++) {
                        if (x < 0 || y < 0 || x >= n || y >= n) continue;
                        int i = y * n + x;
                        if (lab[i] == 1 && (x + 0.5 - px) * (x + 0.5 - px) + (y + 0.5 - py) * (y + 0.5 - py) <= pr * pr) hu[i] = 145;
                    }
                }
            }
            double gasLine = sy - sb * u(0.35, 0.6);
            for (int y = 1; y < n - 1; y++) {
                for (int x = 1; x < n - 1; x++) {
                    int i = y * n + x;
                    if (lab[i] == 5) {
                        if (edge(x, y, 5, 2)) hu[i] = 40;
                        else if (y < gasLine) hu[i] = -950;
                    } else if (lab[i] == 7 && edge(x, y, 7, 1)) {
                        hu[i] = 700;
                    }
                }
            }
        }

        /** True if a pixel within {@code d} steps left/right/up/down of (x, y) is not labelled {@code l}. */
        private boolean edge(int x, int y, int l, int d) {
            for (int k = 1; k <= d; k++) {
                if (x - k < 0 || y - k < 0 || x + k >= n || y + k >= n) return true;
                if (lab[y * n + x - k] != l || lab[y * n + x + k] != l || lab[(y - k) * n + x] != l || lab[(y + k) * n + x] != l) return true;
            }
            return false;
        }

        /** Smooth noise in about [−1, 1]: a coarse random grid, bilinearly upsampled. */
        private float[] smoothField(int cells) {
            int g = cells + 2;
            double[] grid = new double[g * g];
            for (int i = 0; i < grid.length; i++) grid[i] = r.nextGaussian() * 0.6;
            float[] f = new float[n * n];
            double step = (double) n / cells;
            for (int y = 0; y < n; y++) {
                double gy = y / step;
                int y0 = (int) gy;
                double ty = gy - y0;
                for (int x = 0; x < n; x++) {
                    double gx = x / step;
                    int x0 = (int) gx;
                    double tx = gx - x0;
                    double v = grid[y0 * g + x0] * (1 - tx) * (1 - ty) + grid[y0 * g + x0 + 1] * tx * (1 - ty)
                            + grid[(y0 + 1) * g + x0] * (1 - tx) * ty + grid[(y0 + 1) * g + x0 + 1] * tx * ty;
                    f[y * n + x] = (float) v;
                }
            }
            return f;
        }

        private void blur3() {
            float[] src = hu.clone();
            for (int y = 1; y < n - 1; y++) {
                for (int x = 1; x < n - 1; x++) {
                    float s = 0;
                    for (int dy = -1; dy <= 1; dy++) for (int dx = -1; dx <= 1; dx++) s += src[(y + dy) * n + x + dx];
                    hu[y * n + x] = s / 9f;
                }
            }
        }
    }
}
