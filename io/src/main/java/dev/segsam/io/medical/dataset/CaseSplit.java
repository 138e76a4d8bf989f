package dev.segsam.io.medical.dataset;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * A train / validation / test split of a data set by case (volume, or patient), so that no two slices of one volume
 * ever land in different splits — neighbouring slices are nearly identical, and a split by slice would measure
 * memory, not generalisation.
 *
 * <p>{@link #of} is deterministic and independent of the order the cases are listed in: the cases are ordered by the
 * SHA-256 of their ids; the first {@code round(n · testFraction)} go to test, the next {@code round(n ·
 * valFraction)} to validation, the rest to training. A positive fraction gets at least one case as long as one case
 * is left for training; training always keeps at least one.
 *
 * @param rule how the split was made, in words (recorded with the model)
 */
public record CaseSplit(List<String> train, List<String> val, List<String> test, String rule) {
    public CaseSplit {
        train = List.copyOf(train);
        val = List.copyOf(val);
        test = List.copyOf(test);
        Set<String> seen = new LinkedHashSet<>();
        for (List<String> l : List.of(train, val, test)) {
            for (String c : l) if (!seen.add(c)) throw new IllegalArgumentException("case " + c + " is in two splits");
        }
    }

    /** The split of {@code cases} (distinct ids) with these fractions (each 0..1, together below 1). */
    public static CaseSplit of(Collection<String> cases, double valFraction, double testFraction) {
        if (!(valFraction >= 0 && testFraction >= 0 && valFraction + testFraction < 1)) {
            throw new IllegalArgumentException("--val-fraction and --test-fraction must be ≥ 0 and together below 1, got "
                    + valFraction + " and " + testFraction);
        }
        List<String> order = new ArrayList<>(new LinkedHashSet<>(cases));
        order.sort(Comparator.comparing(CaseSplit::hash).thenComparing(Comparator.naturalOrder()));
        int n = order.size();
        int nTest = count(n, testFraction, n - 1);
        int nVal = count(n, valFraction, n - 1 - nTest);
        List<String> test = new ArrayList<>(order.subList(0, nTest)), val = new ArrayList<>(order.subList(nTest, nTest + nVal)),
                train = new ArrayList<>(order.subList(nTest + nVal, n));
        test.sort(null);
        val.sort(null);
        train.sort(null);
        return new CaseSplit(train, val, test, "by case: cases ordered by the SHA-256 of their ids; the first round(n*" + fmt(testFraction)
                + ") test, the next round(n*" + fmt(valFraction) + ") val, the rest train");
    }

    private static int count(int n, double fraction, int room) {
        if (fraction <= 0 || room <= 0) return 0;
        return Math.min(room, Math.max(1, (int) Math.round(n * fraction)));
    }

    private static String fmt(double v) {
        return v == Math.rint(v) ? Long.toString((long) v) : Double.toString(v);
    }

    /** {@code train}, {@code val} or {@code test} for a case of this split, or null if it is in none. */
    public String splitOf(String caseId) {
        if (train.contains(caseId)) return "train";
        if (val.contains(caseId)) return "val";
        if (test.contains(caseId)) return "test";
        return null;
    }

    static String hash(String id) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(id.getBytes(StandardCharsets.UTF_8)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
