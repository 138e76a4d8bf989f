package dev.segsam.cli.predict;

import dev.segsam.model.preprocess.Preprocessor.Convention;
import dev.segsam.model.segsam.SegSam;
import java.util.Locale;

/** The preprocessing convention of a prediction: {@code --convention} when given, else the model's, else SAM's. */
public final class Conventions {
    private Conventions() {}

    /** {@code flag} ({@code sam} or {@code medsam}, any case; null = not given) or the default for {@code model}. */
    public static Convention choose(String flag, SegSam model) {
        String c = flag != null ? flag : model.hasSemantics() ? model.config().convention() : "sam";
        return switch (c.toLowerCase(Locale.ROOT)) {
            case "sam" -> Convention.SAM;
            case "medsam" -> Convention.MEDSAM;
            default -> throw new IllegalArgumentException("unknown convention '" + c + "': expected sam or medsam");
        };
    }
}
