package dev.segsam.io.medical.intensity;

import dev.segsam.io.medical.Volume;
import java.util.Locale;

/**
 * How to turn a volume's values into 8-bit grey, as chosen on the command line ({@code --window}):
 * <ul>
 *   <li>{@code abdomen | brain | bone | lung | mediastinum | W,L} → a fixed CT window ({@link CtWindow});</li>
 *   <li>{@code mr} → MedSAM's MR percentile normalisation over the whole volume ({@link MrNormalization});</li>
 *   <li>{@code dicom} → the file's own WindowCenter/WindowWidth (an error if it has none);</li>
 *   <li>{@code auto} (default) → CT: the file's window if present, else abdomen; anything else: {@code mr}. A volume
 *       without a modality (NIfTI has none) counts as CT when its minimum is ≤ −500 (HU of air), as CT volumes'
 *       are and MR volumes' are not.</li>
 * </ul>
 * The resolved map is inverted for DICOM MONOCHROME1 images.
 */
public sealed interface Windowing {
    /** The grey mapping for {@code v}. */
    IntensityMap resolve(Volume v);

    record Fixed(CtWindow window) implements Windowing {
        @Override
        public IntensityMap resolve(Volume v) {
            return window.fixed().inverted(v.monochrome1());
        }
    }

    record MrPercentile() implements Windowing {
        @Override
        public IntensityMap resolve(Volume v) {
            return MrNormalization.of(v).inverted(v.monochrome1());
        }
    }

    record Stored() implements Windowing {
        @Override
        public IntensityMap resolve(Volume v) {
            CtWindow w = stored(v);
            if (w == null) throw new IllegalArgumentException("the image has no WindowCenter/WindowWidth; use --window PRESET|W,L|mr");
            return w.fixed().inverted(v.monochrome1());
        }
    }

    record Auto() implements Windowing {
        @Override
        public IntensityMap resolve(Volume v) {
            boolean ct = v.modality().map("CT"::equals).orElseGet(() -> v.valueRange()[0] <= -500);
            if (ct) {
                CtWindow w = stored(v);
                return (w != null ? w : CtWindow.ABDOMEN).fixed().inverted(v.monochrome1());
            }
            return new MrPercentile().resolve(v);
        }
    }

    /** Parses a {@code --window} value (see the interface description). */
    public static Windowing parse(String spec) {
        String s = spec == null ? "auto" : spec.strip().toLowerCase(Locale.ROOT);
        return switch (s) {
            case "auto", "" -> new Auto();
            case "mr", "percentile" -> new MrPercentile();
            case "dicom", "stored" -> new Stored();
            default -> {
                try {
                    yield new Fixed(CtWindow.parse(s));
                } catch (IllegalArgumentException e) {
                    throw new IllegalArgumentException("window must be a preset (" + CtWindow.presetNames() + "), W,L in HU (e.g. 400,40), mr, dicom or auto; got '" + spec + "'");
                }
            }
        };
    }

    /** The DICOM WindowCenter/WindowWidth stored with {@code v}, or null. */
    static CtWindow stored(Volume v) {
        String c = v.extras().get(Volume.WINDOW_CENTER), w = v.extras().get(Volume.WINDOW_WIDTH);
        if (c == null || w == null) return null;
        try {
            return new CtWindow("dicom", Double.parseDouble(w), Double.parseDouble(c));
        } catch (IllegalArgumentException e) {
            return null;
        }
    }
}
