package dev.segsam.cli.train;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.file.Path;
import picocli.CommandLine.Option;

/**
 * The data options {@code segsam train} and {@code segsam eval} share (a picocli mixin): which data set, how volumes
 * are cut into slices, and how the cases are split. See {@link DataSources} for the layouts.
 */
public final class DataOptions {
    @Option(names = "--data", paramLabel = "PATH|colin27|phantom", defaultValue = "phantom",
            description = {"a data set folder (MSD/nnU-Net: dataset.json + imagesTr/ + labelsTr/; a `segsam dataset` folder;",
                "SA-Med2D-16M folder or .zip), or a built-in: colin27 (real MRI) or phantom (synthetic CT) (default ${DEFAULT-VALUE})"})
    public String data;

    @Option(names = "--data-dir", paramLabel = "DIR", description = "where colin27's files are (default: $SEGSAM_DATA or ~/.cache/segsam, /mricron-data)")
    public Path dataDir;

    @Option(names = "--phantoms", paramLabel = "N", defaultValue = "240", description = "phantom slices to generate (default ${DEFAULT-VALUE}; 80/10/10 split)")
    public int phantoms;

    @Option(names = "--axis", defaultValue = "auto", paramLabel = "auto|x|y|z",
            description = "volumes: the voxel axis to slice along (default auto: the coarsest-spaced axis, or the axial one for isotropic voxels)")
    public String axis;

    @Option(names = "--channel", paramLabel = "N", defaultValue = "0", description = "volumes: which channel of 4-D (multi-sequence) images (default ${DEFAULT-VALUE})")
    public int channel;

    @Option(names = "--window", defaultValue = "auto", paramLabel = "auto|mr|PRESET|W,L",
            description = "volumes: grey mapping as in predict (default auto: CT abdomen W400/L40, MR 0.5-99.5 %% percentiles; dataset.json's modality decides when it names one)")
    public String window;

    @Option(names = "--min-pixels", paramLabel = "N", defaultValue = "20", description = "volumes: a class makes a mask on a slice when it covers at least this many pixels (default ${DEFAULT-VALUE})")
    public int minPixels;

    @Option(names = "--slice-step", paramLabel = "N", defaultValue = "1", description = "volumes: keep every N-th slice (default ${DEFAULT-VALUE}: all; for data sets too big for memory)")
    public int sliceStep;

    @Option(names = "--val-fraction", paramLabel = "X", defaultValue = "0.1", description = "share of cases (volumes) for validation (default ${DEFAULT-VALUE})")
    public double valFraction;

    @Option(names = "--test-fraction", paramLabel = "X", defaultValue = "0.1", description = "share of cases (volumes) for testing (default ${DEFAULT-VALUE})")
    public double testFraction;

    /** The options as train.json records them. */
    public void record(ObjectNode n) {
        n.put("data", data).put("data_dir", dataDir == null ? null : dataDir.toString()).put("phantoms", phantoms).put("axis", axis)
                .put("channel", channel).put("window", window).put("min_pixels", minPixels).put("slice_step", sliceStep)
                .put("val_fraction", valFraction).put("test_fraction", testFraction);
    }
}
