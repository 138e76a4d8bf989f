package dev.segsam.model.train;

import dev.segsam.tensor.image.RgbImage;
import java.util.List;

/**
 * A training/evaluation image with its labelled objects. {@code classIndex} is the model's class channel (1..K);
 * masks are {@code width·height} bytes (non-zero inside), on the image's own grid.
 */
public record TrainSample(String id, RgbImage image, List<Target> targets) {
    public record Target(int classIndex, String className, byte[] mask) {}

    public TrainSample {
        targets = List.copyOf(targets);
        for (Target t : targets) {
            if (t.mask().length != image.width() * image.height()) throw new IllegalArgumentException(id + ": mask size differs from the image");
        }
    }

    /** presence[k−1] = 1 if class k is among the targets. */
    public float[] presence(int numClasses) {
        float[] p = new float[numClasses];
        for (Target t : targets) if (t.classIndex() >= 1 && t.classIndex() <= numClasses) p[t.classIndex() - 1] = 1;
        return p;
    }
}
