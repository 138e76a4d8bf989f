package dev.segsam.model.train;

import java.util.Locale;

/**
 * Which SEG-SAM parts and losses a run trains — the rows of the paper's ablation, each adding to the one before:
 * <ul>
 *   <li>{@link #BASELINE}: SAM's decoder only, L_bin;</li>
 *   <li>{@link #SO}: + the semantic-aware decoder's SO-token, L_sem;</li>
 *   <li>{@link #CO}: + the CO-tokens (Ĉ_s, fused back as a prior), L_bce;</li>
 *   <li>{@link #T2VSE}: + T2VSE (text-enhanced prompt tokens);</li>
 *   <li>{@link #FULL}: + the cross-mask alignment loss L_cons.</li>
 * </ul>
 */
public enum Ablation {
    BASELINE, SO, CO, T2VSE, FULL;

    /** {@code baseline}, {@code so}, {@code co}, {@code t2vse} or {@code full}, any case. */
    public static Ablation parse(String s) {
        for (Ablation a : values()) if (a.name().equalsIgnoreCase(s.strip())) return a;
        throw new IllegalArgumentException("unknown ablation '" + s + "': expected baseline, so, co, t2vse or full");
    }

    /** Whether the model has SEG-SAM parts (the semantic-aware decoder) at all. */
    public boolean semantic() {
        return this != BASELINE;
    }

    /** Whether T2VSE is switched on. */
    public boolean t2vse() {
        return this == T2VSE || this == FULL;
    }

    /** Whether the CO-tokens are switched on. */
    public boolean coTokens() {
        return semantic() && this != SO;
    }

    /**
     * The loss terms of this row: L_bin always; L_sem with semantics; L_bce with CO-tokens; L_cons for {@link #FULL};
     * λ_bce = λ_cons = 1.
     *
     * @param trainEncoder train the image encoder too (our stage-1 pretraining; use with {@link #BASELINE})
     */
    public SegSamTrainer.Options loss(int targetsPerImage, double focalWeight, double diceWeight, boolean trainEncoder) {
        return new SegSamTrainer.Options(targetsPerImage, focalWeight, diceWeight, semantic(), coTokens(), this == FULL, 1, 1, trainEncoder);
    }

    /** The lower-case name, as the command line takes it. */
    @Override
    public String toString() {
        return name().toLowerCase(Locale.ROOT);
    }
}
