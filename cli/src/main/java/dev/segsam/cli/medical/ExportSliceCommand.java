package dev.segsam.cli.medical;

import dev.segsam.io.image.ImageFiles;
import dev.segsam.io.medical.Axis;
import dev.segsam.io.medical.MedicalImages;
import dev.segsam.io.medical.Slice2D;
import dev.segsam.io.medical.Volume;
import dev.segsam.io.medical.intensity.IntensityMap;
import dev.segsam.io.medical.intensity.Windowing;
import java.io.PrintWriter;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** Writes one slice of a volume as an 8-bit grey PNG, windowed for viewing or for SAM. */
@Command(name = "export-slice", mixinStandardHelpOptions = true,
        description = {"Write one slice of a NIfTI/DICOM volume as an 8-bit grey PNG.",
                "The slice is shown in the radiological layout (see docs/DATA.md) unless --voxel-order."})
public final class ExportSliceCommand implements Callable<Integer> {
    @Parameters(paramLabel = "FILE_OR_DIR", description = "NIfTI-1 (.nii/.nii.gz), DICOM file, or DICOM series folder")
    Path path;

    @Option(names = "--axis", paramLabel = "x|y|z", defaultValue = "z", converter = AxisConverter.class, description = "voxel axis to slice along: x, y or z (default z)")
    Axis axis;

    @Option(names = "--index", paramLabel = "N", description = "slice index along the axis (default: the middle slice)")
    Integer index;

    @Option(names = "--window", paramLabel = "PRESET|W,L", defaultValue = "auto", converter = WindowingConverter.class,
            description = "abdomen|brain|bone|lung|mediastinum, W,L in HU (e.g. 400,40), mr (0.5-99.5 %% of positive voxels), dicom (stored window) or auto (default: CT -> stored window or abdomen, else mr)")
    Windowing window;

    @Option(names = "--out", paramLabel = "FILE.png", required = true, description = "the PNG to write")
    Path out;

    @Option(names = "--force", description = "overwrite --out if it exists")
    boolean force;

    @Option(names = "--voxel-order", description = "write the slice in voxel order (no flips or transpose)")
    boolean voxelOrder;

    @Spec
    CommandSpec spec;

    static final class AxisConverter implements CommandLine.ITypeConverter<Axis> {
        @Override
        public Axis convert(String value) {
            return Axis.parse(value);
        }
    }

    static final class WindowingConverter implements CommandLine.ITypeConverter<Windowing> {
        @Override
        public Windowing convert(String value) {
            return Windowing.parse(value);
        }
    }

    @Override
    public Integer call() throws Exception {
        PrintWriter o = spec.commandLine().getOut();
        dev.segsam.cli.OutputFolder.requireWritableFile(out, force, "use --force to overwrite");
        try (Volume v = MedicalImages.read(path)) {
            int n = v.size(axis);
            int k = index == null ? n / 2 : index;
            if (k < 0 || k >= n) {
                throw new CommandLine.ParameterException(spec.commandLine(), "--index " + k + " is outside 0.." + (n - 1) + " along " + axisName());
            }
            IntensityMap map = window.resolve(v);
            Slice2D s = voxelOrder ? v.slice(axis, k) : v.displaySlice(axis, k);
            ImageFiles.writeGreyPng(map.toGray8(s.values()), s.width(), s.height(), out);
            o.printf(Locale.ROOT, "wrote %s: %dx%d, %s = %d of %d, grey = clip(v, %s, %s) scaled to 0-255%s%n", out, s.width(), s.height(), axisName(), k, n,
                    Numbers.format(map.low()), Numbers.format(map.high()), (map.keepZero() ? ", zeros kept" : "") + (map.invert() ? ", inverted (MONOCHROME1)" : ""));
        }
        return 0;
    }

    private String axisName() {
        return axis.name().toLowerCase(Locale.ROOT);
    }
}
