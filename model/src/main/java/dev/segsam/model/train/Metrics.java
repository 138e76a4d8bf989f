package dev.segsam.model.train;

import java.util.List;

/** Dice and the ROC AUC used by evaluation (docs/design/segsam.md §5). */
public final class Metrics {
    private Metrics() {}

    /** 2|A∩B| / (|A| + |B|); 1 when both are empty. */
    public static double dice(boolean[] a, boolean[] b) {
        long inter = 0, sa = 0, sb = 0;
        for (int i = 0; i < a.length; i++) {
            if (a[i]) sa++;
            if (b[i]) sb++;
            if (a[i] && b[i]) inter++;
        }
        return sa + sb == 0 ? 1.0 : 2.0 * inter / (sa + sb);
    }

    /** Area under the ROC curve of {@code scores} for binary {@code labels} (ties count ½); NaN if one class is absent. */
    public static double auroc(List<Double> scores, List<Boolean> labels) {
        long pos = labels.stream().filter(x -> x).count(), neg = labels.size() - pos;
        if (pos == 0 || neg == 0) return Double.NaN;
        double sum = 0;
        for (int i = 0; i < scores.size(); i++) {
            if (!labels.get(i)) continue;
            for (int j = 0; j < scores.size(); j++) {
                if (labels.get(j)) continue;
                int c = Double.compare(scores.get(i), scores.get(j));
                sum += c > 0 ? 1 : c == 0 ? 0.5 : 0;
            }
        }
        return sum / (pos * neg);
    }
}
