package dev.segsam.cli.medical;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.segsam.io.medical.MedicalImages;
import dev.segsam.io.medical.Volume;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** Describes a NIfTI file, a DICOM file or a folder holding one DICOM series. */
@Command(name = "inspect", mixinStandardHelpOptions = true,
        description = {"Describe a medical image: format, modality, dims, spacing, data type, value range and affine.",
                "For DICOM also the transfer syntax and stored window. FILE_OR_DIR: .nii, .nii.gz, .dcm, or a folder of one DICOM series."})
public final class InspectCommand implements Callable<Integer> {
    @Parameters(paramLabel = "FILE_OR_DIR", description = "NIfTI-1 (.nii/.nii.gz), DICOM file, or DICOM series folder")
    Path path;

    @Option(names = "--json", description = "print one JSON object (keys: file, format, modality, dims, file_dims, volume, volumes, spacing, dtype, min, max, affine, affine_source, extras)")
    boolean json;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        PrintWriter out = spec.commandLine().getOut();
        try (Volume v = MedicalImages.read(path)) {
            double[] range = v.valueRange();
            if (json) {
                ObjectMapper m = new ObjectMapper();
                ObjectNode root = m.createObjectNode();
                root.put("file", path.toString());
                root.put("format", v.format());
                if (v.modality().isPresent()) root.put("modality", v.modality().get());
                else root.putNull("modality");
                ArrayNode dims = root.putArray("dims");
                for (int d : v.dims()) dims.add(d);
                ArrayNode fileDims = root.putArray("file_dims");
                for (int d : v.fileDims()) fileDims.add(d);
                root.put("volume", v.volumeIndex());
                root.put("volumes", v.volumeCount());
                ArrayNode sp = root.putArray("spacing");
                for (double s : v.spacing()) sp.add(s);
                root.put("dtype", v.dataType());
                if (Double.isNaN(range[0])) {
                    root.putNull("min").putNull("max"); // every voxel is NaN
                } else {
                    root.put("min", range[0]);
                    root.put("max", range[1]);
                }
                ArrayNode aff = root.putArray("affine");
                for (double[] row : v.affine()) {
                    ArrayNode r = aff.addArray();
                    for (double x : row) r.add(x);
                }
                root.put("affine_source", v.affineSource().name());
                if (v.extras().containsKey(Volume.TRANSFER_SYNTAX)) root.put("transfer_syntax", v.extras().get(Volume.TRANSFER_SYNTAX));
                ObjectNode ex = root.putObject("extras");
                v.extras().forEach(ex::put);
                out.println(m.writeValueAsString(root));
                return 0;
            }
            Map<String, String> x = v.extras();
            out.printf("file          %s%n", path);
            out.printf("format        %s%s%n", v.format(), x.containsKey(Volume.TRANSFER_SYNTAX)
                    ? ", " + x.get(Volume.TRANSFER_SYNTAX_NAME) + " (" + x.get(Volume.TRANSFER_SYNTAX) + ")" : "");
            out.printf("modality      %s%n", v.modality().orElse("unknown (not stored in " + v.format() + ")"));
            out.printf("dims          %d x %d x %d (x, y, z)%n", v.nx(), v.ny(), v.nz());
            if (v.volumeCount() > 1) {
                out.printf("volumes       %d in the file's %s; shown and used by commands: volume %d%n", v.volumeCount(),
                        String.join(" x ", java.util.Arrays.stream(v.fileDims()).mapToObj(Integer::toString).toList()), v.volumeIndex());
            }
            double[] s = v.spacing();
            out.printf(Locale.ROOT, "spacing       %s x %s x %s mm%n", Numbers.format(s[0]), Numbers.format(s[1]), Numbers.format(s[2]));
            out.printf("data type     %s%n", v.dataType());
            out.printf(Locale.ROOT, "value range   %s .. %s%n", Numbers.format(range[0]), Numbers.format(range[1]));
            if (x.containsKey(Volume.WINDOW_CENTER)) out.printf("window        centre %s, width %s (stored)%n", x.get(Volume.WINDOW_CENTER), x.get(Volume.WINDOW_WIDTH));
            out.printf("affine        %s (voxel -> RAS mm)%n", v.affineSource());
            for (double[] row : v.affine()) {
                out.printf(Locale.ROOT, "              [%10s %10s %10s %10s]%n", Numbers.format(row[0]), Numbers.format(row[1]), Numbers.format(row[2]), Numbers.format(row[3]));
            }
            for (Map.Entry<String, String> e : x.entrySet()) {
                if (e.getKey().equals(Volume.TRANSFER_SYNTAX) || e.getKey().equals(Volume.TRANSFER_SYNTAX_NAME)
                        || e.getKey().equals(Volume.WINDOW_CENTER) || e.getKey().equals(Volume.WINDOW_WIDTH)) continue;
                out.printf("%-13s %s%n", e.getKey(), e.getValue());
            }
        }
        return 0;
    }
}
