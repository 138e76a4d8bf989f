package dev.segsam.io.medical.intensity;

import java.util.Locale;

/**
 * A CT display window: width W and level (centre) L in HU, showing {@code [L − W/2, L + W/2]}.
 *
 * <p>Presets (Radiopaedia "windowing (CT)", the source MedSAM cites; see {@code docs/design/stack.md} §10):
 * <ul>
 *   <li>{@code abdomen} W400/L40 → [−160, 240]: MedSAM's default ({@code pre_CT_MR.py}). Not the TransUNet/BTCV
 *       [−125, 275] (W400/L75).</li>
 *   <li>{@code brain} W80/L40, {@code bone} W1800/L400, {@code lung} W1500/L−600, {@code mediastinum} W350/L50.</li>
 * </ul>
 */
public record CtWindow(String name, double width, double level) {
    public static final CtWindow ABDOMEN = new CtWindow("abdomen", 400, 40);
    public static final CtWindow BRAIN = new CtWindow("brain", 80, 40);
    public static final CtWindow BONE = new CtWindow("bone", 1800, 400);
    public static final CtWindow LUNG = new CtWindow("lung", 1500, -600);
    public static final CtWindow MEDIASTINUM = new CtWindow("mediastinum", 350, 50);
    private static final CtWindow[] PRESETS = {ABDOMEN, BRAIN, BONE, LUNG, MEDIASTINUM};

    public CtWindow {
        if (!(width > 0) || !Double.isFinite(width) || !Double.isFinite(level)) {
            throw new IllegalArgumentException("window width must be > 0 and level finite, got W" + width + " L" + level);
        }
    }

    /** A preset name ({@code abdomen, brain, bone, lung, mediastinum}, any case) or {@code "W,L"} (e.g. {@code 1500,-600}). */
    public static CtWindow parse(String spec) {
        String s = spec == null ? "" : spec.strip().toLowerCase(Locale.ROOT);
        for (CtWindow p : PRESETS) if (p.name.equals(s)) return p;
        String[] parts = s.split(",");
        if (parts.length == 2) {
            try {
                double w = Double.parseDouble(parts[0].strip()), l = Double.parseDouble(parts[1].strip());
                return new CtWindow("W" + fmt(w) + ",L" + fmt(l), w, l);
            } catch (NumberFormatException e) {
                // fall through
            }
        }
        throw new IllegalArgumentException("window must be a preset (" + presetNames() + ") or W,L in HU (e.g. 400,40), got '" + spec + "'");
    }

    public static String presetNames() {
        StringBuilder sb = new StringBuilder();
        for (CtWindow p : PRESETS) sb.append(sb.isEmpty() ? "" : ", ").append(p.name);
        return sb.toString();
    }

    public double lower() {
        return level - width / 2;
    }

    public double upper() {
        return level + width / 2;
    }

    /** The standard display mapping: {@code [lower, upper]} → 0–255. */
    public IntensityMap fixed() {
        return new IntensityMap(lower(), upper(), false);
    }

    /**
     * MedSAM's exact CT mapping for a volume (or slice) with values {@code data}: clip to the window, then min–max
     * of the clipped data to 0–255. Differs from {@link #fixed()} only when the data do not reach both window ends.
     */
    public IntensityMap medsam(float[] data) {
        double min = Double.POSITIVE_INFINITY, max = Double.NEGATIVE_INFINITY;
        for (float v : data) {
            if (v < min) min = v;
            if (v > max) max = v;
        }
        if (min > max) return fixed();
        double lo = Math.min(Math.max(min, lower()), upper()), hi = Math.min(Math.max(max, lower()), upper());
        return new IntensityMap(lo, hi, false);
    }

    private static String fmt(double v) {
        return v == Math.rint(v) ? Long.toString((long) v) : Double.toString(v);
    }

    @Override
    public String toString() {
        return name + " (W" + fmt(width) + " L" + fmt(level) + ")";
    }
}
