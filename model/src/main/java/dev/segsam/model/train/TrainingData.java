package dev.segsam.model.train;

import java.util.List;

/**
 * A labelled data set split for training: the class names (class index k is {@code classNames().get(k − 1)}) and the
 * train / validation / test samples. {@link TrainingRun} draws training samples by index, validates on
 * {@link #val()} and leaves {@link #test()} to the caller.
 */
public interface TrainingData {
    List<String> classNames();

    List<TrainSample> train();

    List<TrainSample> val();

    List<TrainSample> test();

    /** Samples and classes in memory. */
    static TrainingData of(List<String> classNames, List<TrainSample> train, List<TrainSample> val, List<TrainSample> test) {
        record Lists(List<String> classNames, List<TrainSample> train, List<TrainSample> val, List<TrainSample> test) implements TrainingData {}
        return new Lists(List.copyOf(classNames), List.copyOf(train), List.copyOf(val), List.copyOf(test));
    }
}
