package dev.segsam.io.medical.dataset;

import java.io.IOException;
import java.util.List;

/** A list of {@link Sample}s with a fixed class vocabulary, read lazily. */
public interface SegmentationDataset extends AutoCloseable {
    /** Every class that may appear in a sample. */
    List<ClassInfo> classes();

    int size();

    Sample get(int index) throws IOException;

    @Override
    default void close() throws IOException {}
}
