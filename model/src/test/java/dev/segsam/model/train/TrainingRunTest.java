package dev.segsam.model.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.segsam.model.sam.SeededWeights;
import dev.segsam.model.segsam.SegSamConfig;
import dev.segsam.tensor.CpuBackend;
import dev.segsam.tensor.Tensor;
import dev.segsam.tensor.TensorSource;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The library training loop on the small SEG-SAM of {@link SegSamTrainerTest}: events, exact resumption, weights. */
class TrainingRunTest {
    static final List<String> CLASSES = List.of("square", "disc");

    static TrainingData data() {
        List<TrainSample> train = new ArrayList<>();
        for (int i = 0; i < 4; i++) train.add(SegSamTrainerTest.sample(200 + i));
        return TrainingData.of(CLASSES, train, List.of(SegSamTrainerTest.sample(300)), List.of(SegSamTrainerTest.sample(400)));
    }

    static TrainingRun.Config config(int steps) {
        return new TrainingRun.Config(steps, 1e-3, 1, 7, 2, 2, 2, Ablation.FULL.loss(2, 20, 1, false));
    }

    static TrainingRun.Weights weights() {
        return TrainingRun.Weights.initial(SeededWeights.generate(SegSamTrainerTest.SMALL, 3), null, CLASSES, Ablation.FULL, 32, 5);
    }

    /** Every event of a call, as text. */
    static final class Recorder implements TrainingRun.Listener {
        final List<String> events = new ArrayList<>();
        final Map<Integer, TrainingRun.Snapshot> checkpoints = new LinkedHashMap<>();
        final TrainingRun run;

        Recorder(TrainingRun run) {
            this.run = run;
        }

        @Override
        public void step(int step, SegSamTrainer.Report r, double lr) {
            assertTrue(Double.isFinite(r.total()) && r.targets() == 2, r.toString());
            assertEquals(run.learningRate(step), lr);
            events.add("step " + step);
        }

        @Override
        public void progress(TrainingRun.Progress p) {
            assertTrue(Double.isFinite(p.mean().total()) && p.secondsPerStep() > 0, p.toString());
            events.add("progress " + p.step() + "/" + p.steps());
        }

        @Override
        public void validation(int step, Evaluation.Result r) {
            assertEquals(2, r.targets());
            events.add("validation " + step);
        }

        @Override
        public void checkpoint(int step) {
            assertEquals(step, run.step());
            TrainingRun.Snapshot s = run.checkpoint();
            Map<String, Tensor> copy = new LinkedHashMap<>();
            s.tensors().forEach((k, v) -> copy.put(k, v.copy())); // the live tensors go on training
            checkpoints.put(step, new TrainingRun.Snapshot(copy, s.metadata()));
            events.add("checkpoint " + step);
        }
    }

    @Test
    void eventsComeAtTheirIntervalsAndAResumedRunEqualsTheUninterruptedOne() throws Exception {
        CpuBackend cpu = new CpuBackend();
        TrainingRun a = TrainingRun.start(weights(), data(), cpu, config(4));
        Recorder ra = new Recorder(a);
        assertEquals(4, a.train(0, ra));
        assertEquals(List.of("step 1", "step 2", "progress 2/4", "validation 2", "checkpoint 2", "step 3", "step 4", "progress 4/4",
                "checkpoint 4"), ra.events);
        assertTrue(a.finished());

        TrainingRun b = TrainingRun.start(weights(), data(), cpu, config(4));
        Recorder rb = new Recorder(b);
        assertEquals(3, b.train(3, rb)); // stopped by hand: the last step of a call is checkpointed
        assertEquals(List.of(2, 3), List.copyOf(rb.checkpoints.keySet()));
        assertFalse(b.finished());
        TrainingRun.Snapshot at3 = rb.checkpoints.get(3);
        assertEquals("3", at3.metadata().get(TrainingRun.STEP_KEY));
        assertTrue(at3.tensors().containsKey("adamw.step"));

        TrainingRun c = TrainingRun.resume(at3.source(), data(), cpu, config(4));
        assertEquals(3, c.step());
        assertFalse(c.metadata().containsKey(TrainingRun.STEP_KEY), "the step is the run's, not the model's");
        Recorder rc = new Recorder(c);
        assertEquals(4, c.train(0, rc));
        assertEquals(List.of("step 4", "progress 4/4", "checkpoint 4"), rc.events);
        int changed = 0;
        Map<String, Tensor> start = weights().tensors();
        for (var e : a.weights().entrySet()) {
            assertArrayEquals(e.getValue().toArray(), c.weights().get(e.getKey()).toArray(), e.getKey());
            if (!java.util.Arrays.equals(e.getValue().toArray(), start.get(e.getKey()).toArray())) changed++;
        }
        assertTrue(changed > 20, "training changed " + changed + " tensors");
        assertEquals(a.model(Map.of()).metadata(), c.model(Map.of()).metadata());
        Evaluation.Result test = a.evaluate(data().test());
        assertEquals(2, test.targets());
        assertTrue(test.dsc() >= 0 && test.dsc() <= 1, "DSC " + test.dsc());
    }

    @Test
    void initialWeightsFollowTheAblationAndReuseSegSamPartsForTheSameClasses() {
        TensorSource sam = SeededWeights.generate(SegSamTrainerTest.SMALL, 3);
        TrainingRun.Weights so = TrainingRun.Weights.initial(sam, null, CLASSES, Ablation.SO, 32, 5);
        SegSamConfig cfg = SegSamConfig.fromMetadata(so.metadata());
        assertEquals(CLASSES, cfg.classNames());
        assertFalse(cfg.useT2vse());
        assertFalse(cfg.useCoTokens());
        assertTrue(SegSamConfig.fromMetadata(TrainingRun.Weights.initial(sam, null, CLASSES, Ablation.FULL, 32, 5).metadata()).useT2vse());
        TrainingRun.Weights base = TrainingRun.Weights.initial(sam, null, CLASSES, Ablation.BASELINE, 32, 5);
        assertTrue(base.metadata().isEmpty());
        assertTrue(base.tensors().keySet().stream().noneMatch(n -> n.startsWith("semantic_decoder.")));

        // SEG-SAM parts for the same classes are kept (a different seed would draw others), for other classes made anew
        String token = "semantic_decoder.so_token.weight";
        TensorSource trained = TensorSource.of(so.tensors(), so.metadata());
        float[] kept = TrainingRun.Weights.initial(trained, null, CLASSES, Ablation.SO, 32, 99).tensors().get(token).toArray();
        assertArrayEquals(so.tensors().get(token).toArray(), kept);
        float[] fresh = TrainingRun.Weights.initial(trained, null, List.of("square", "ring"), Ablation.SO, 32, 99).tensors().get(token).toArray();
        assertNotEquals(java.util.Arrays.toString(kept), java.util.Arrays.toString(fresh));
    }

    @Test
    void badConfigsAndCheckpointsAreRefused() {
        assertThrows(IllegalArgumentException.class, () -> config(0));
        assertThrows(IllegalArgumentException.class, () -> TrainingRun.Config.defaults().withLearningRate(0, 1));
        TrainingRun.Snapshot s = TrainingRun.start(weights(), data(), new CpuBackend(), config(4)).checkpoint();
        Map<String, String> meta = new LinkedHashMap<>(s.metadata());
        meta.put(TrainingRun.STEP_KEY, "9");
        var e = assertThrows(IllegalArgumentException.class, () -> TrainingRun.resume(TensorSource.of(s.tensors(), meta), data(), new CpuBackend(), config(4)));
        assertTrue(e.getMessage().contains("past the run's 4 steps"), e.getMessage());
        meta.put(TrainingRun.STEP_KEY, "x");
        assertThrows(IllegalArgumentException.class, () -> TrainingRun.resume(TensorSource.of(s.tensors(), meta), data(), new CpuBackend(), config(4)));
    }
}
