package dev.segsam.io.medical.dataset;

import dev.segsam.tensor.image.RgbImage;
import java.util.List;
import java.util.Map;

/**
 * One training/evaluation example: an RGB image (grey replicated for CT/MR) with the instance masks of the labelled
 * objects on it, each carrying its class id and name. {@code meta} holds provenance (source slice, axis, ...).
 */
public record Sample(String id, RgbImage image, List<InstanceMask> masks, Map<String, String> meta) {
    public Sample {
        masks = List.copyOf(masks);
        meta = Map.copyOf(meta);
        for (InstanceMask m : masks) {
            if (m.width() != image.width() || m.height() != image.height()) {
                throw new IllegalArgumentException("sample " + id + ": mask " + m.className() + " is " + m.width() + "x" + m.height()
                        + ", image is " + image.width() + "x" + image.height());
            }
        }
    }
}
