package dev.segsam.model.train;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.segsam.model.Predictor;
import dev.segsam.model.preprocess.Preprocessor;
import dev.segsam.model.segsam.SegSam;
import dev.segsam.tensor.Tensor;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.function.Function;

/**
 * Evaluation (docs/design/segsam.md §5) with each target's tight box as the prompt: DSC = mean binary Dice of M̂_b over targets;
 * per-class Dice = mean, over the targets of a class, of the Dice between {@code label map == that class} and the
 * target (wrong class → 0); mDSC = mean of the per-class Dice; class-presence accuracy (threshold ½) and AUROC of
 * the per-image Ĉ_s against the classes annotated on the image.
 */
public final class Evaluation {
    private Evaluation() {}

    public record Result(int targets, double dsc, double mdsc, List<String> classNames, double[] perClass, double[] perClassBinary,
                         double presenceAccuracy, double presenceAuroc, double classAccuracy) {
        public String summary() {
            return String.format(Locale.ROOT, "DSC %.4f  mDSC %s  class accuracy %s  presence acc %s AUROC %s  (%d targets)", dsc,
                    fmt(mdsc), fmt(classAccuracy), fmt(presenceAccuracy), fmt(presenceAuroc), targets);
        }

        static String fmt(double v) {
            return Double.isFinite(v) ? String.format(Locale.ROOT, "%.4f", v) : "n/a";
        }

        public ObjectNode toJson(ObjectMapper m, String split, int step) {
            ObjectNode n = m.createObjectNode();
            n.put("split", split).put("step", step).put("targets", targets).put("dsc", dsc);
            put(n, "mdsc", mdsc);
            put(n, "class_accuracy", classAccuracy);
            put(n, "presence_accuracy", presenceAccuracy);
            put(n, "presence_auroc", presenceAuroc);
            ObjectNode pc = n.putObject("per_class_dice"), pb = n.putObject("per_class_binary_dice");
            for (int k = 0; k < classNames.size(); k++) {
                put(pc, classNames.get(k), perClass[k]);
                put(pb, classNames.get(k), perClassBinary[k]);
            }
            return n;
        }

        private static void put(ObjectNode n, String k, double v) {
            if (Double.isFinite(v)) n.put(k, v);
            else n.putNull(k);
        }
    }

    /**
     * Evaluates {@code model} on {@code samples} (SAM preprocessing), with each sample's f_v from {@code embedding} and
     * its preprocessed image from {@code frames}.
     */
    public static Result run(SegSam model, List<TrainSample> samples, Function<TrainSample, Tensor> embedding,
                             Function<TrainSample, Preprocessor.Preprocessed> frames, List<String> classNames) {
        Predictor predictor = new Predictor(model, Preprocessor.Convention.SAM);
        int K = classNames.size();
        double[] semSum = new double[K], binSum = new double[K];
        int[] count = new int[K];
        double binTotal = 0;
        int n = 0, correct = 0;
        List<Double> scores = new ArrayList<>();
        List<Boolean> labels = new ArrayList<>();
        long presentOk = 0, presentN = 0;
        for (TrainSample s : samples) {
            if (s.targets().isEmpty()) continue;
            Predictor.Encoded enc = new Predictor.Encoded(frames.apply(s), model.features(embedding.apply(s)));
            float[][] presence = new float[1][];
            List<SegSamTrainer.TargetEval> evals;
            try {
                evals = SegSamTrainer.evaluate(predictor, enc, s, presence);
            } finally {
                enc.features().contexts().close(); // the decoders' per-image contexts; frame and embedding belong to the caller
            }
            for (SegSamTrainer.TargetEval e : evals) {
                int k = e.classIndex() - 1;
                binTotal += e.binaryDice();
                n++;
                binSum[k] += e.binaryDice();
                count[k]++;
                if (!Double.isNaN(e.semanticDice())) semSum[k] += e.semanticDice();
                if (e.predictedClass() == e.classIndex()) correct++;
            }
            if (presence[0] != null) {
                float[] truth = s.presence(K);
                for (int k = 0; k < K; k++) {
                    scores.add((double) presence[0][k]);
                    labels.add(truth[k] > 0);
                    presentN++;
                    if ((presence[0][k] > 0.5f) == (truth[k] > 0)) presentOk++;
                }
            }
        }
        double[] perClass = new double[K], perBin = new double[K];
        double m = 0;
        int mk = 0;
        for (int k = 0; k < K; k++) {
            perClass[k] = count[k] == 0 || !model.hasSemantics() ? Double.NaN : semSum[k] / count[k];
            perBin[k] = count[k] == 0 ? Double.NaN : binSum[k] / count[k];
            if (Double.isFinite(perClass[k])) {
                m += perClass[k];
                mk++;
            }
        }
        return new Result(n, n == 0 ? Double.NaN : binTotal / n, mk == 0 ? Double.NaN : m / mk, classNames, perClass, perBin,
                presentN == 0 ? Double.NaN : (double) presentOk / presentN, Metrics.auroc(scores, labels),
                model.hasSemantics() && n > 0 ? (double) correct / n : Double.NaN);
    }
}
