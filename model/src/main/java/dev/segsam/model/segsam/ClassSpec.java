package dev.segsam.model.segsam;

/**
 * One semantic class of a SEG-SAM model: its name (as in the dataset, e.g. {@code Thalamus_L} or {@code liver}) and
 * the description whose text embedding f_t the T2VSE block attends with (docs/design/segsam.md §2.3).
 */
public record ClassSpec(String name, String description) {
    public ClassSpec {
        if (name == null || name.isBlank()) throw new IllegalArgumentException("class name must not be empty");
        if (description == null || description.isBlank()) description = name;
    }
}
