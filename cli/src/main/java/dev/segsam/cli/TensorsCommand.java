package dev.segsam.cli;

import dev.segsam.io.IoLimits;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.segsam.io.Checkpoint;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/** Lists the tensors and metadata of a checkpoint, safetensors or PyTorch (validating it on the way). */
@Command(name = "tensors", mixinStandardHelpOptions = true,
        description = "List the tensors (name, dtype, shape, bytes) and metadata of a .safetensors or PyTorch .pth checkpoint.")
final class TensorsCommand implements Callable<Integer> {
    @Parameters(paramLabel = "FILE", description = "a .safetensors file or a torch.save checkpoint (.pth/.pt/.bin)")
    Path file;

    @Option(names = "--json", description = "print one JSON object instead of a table")
    boolean json;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        PrintWriter out = spec.commandLine().getOut();
        try (Checkpoint f = Checkpoint.open(file, IoLimits.fromSystemProperties())) {
            long total = 0, params = 0;
            for (Checkpoint.Entry t : f.entries()) {
                total += t.bytes();
                params += t.numel();
            }
            if (json) {
                ObjectMapper m = new ObjectMapper();
                ObjectNode root = m.createObjectNode();
                root.put("file", file.toString());
                root.put("format", f.format() == Checkpoint.Format.SAFETENSORS ? "safetensors" : "pth");
                root.put("tensors", f.names().size());
                root.put("elements", params);
                root.put("bytes", total);
                ObjectNode meta = root.putObject("metadata");
                f.metadata().forEach(meta::put);
                ArrayNode list = root.putArray("entries");
                for (Checkpoint.Entry t : f.entries()) {
                    ObjectNode e = list.addObject();
                    e.put("name", t.name());
                    e.put("dtype", t.dtype());
                    ArrayNode s = e.putArray("shape");
                    for (long d : t.shape()) s.add(d);
                    e.put("bytes", t.bytes());
                }
                out.println(m.writeValueAsString(root));
            } else {
                int w = f.names().stream().mapToInt(String::length).max().orElse(4);
                for (Checkpoint.Entry t : f.entries()) {
                    out.printf("%-" + w + "s  %-7s %-22s %,d bytes%n", t.name(), t.dtype(), Arrays.toString(t.shape()), t.bytes());
                }
                for (Map.Entry<String, String> e : f.metadata().entrySet()) {
                    String v = e.getValue().length() > 100 ? e.getValue().substring(0, 97) + "..." : e.getValue();
                    out.println("metadata " + e.getKey() + " = " + v);
                }
                out.printf("%d tensors, %,d elements, %,d bytes of data%n", f.names().size(), params, total);
            }
        }
        return 0;
    }
}
