package dev.segsam.cli;

import dev.segsam.io.IoLimits;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.segsam.io.Checkpoint;
import dev.segsam.io.safetensors.SafeTensorsWriter;
import dev.segsam.model.sam.SamModel;
import dev.segsam.model.segsam.ClassSpec;
import dev.segsam.model.segsam.ClassTexts;
import dev.segsam.model.segsam.SegSamInit;
import dev.segsam.tensor.CpuBackend;
import dev.segsam.tensor.Tensor;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code segsam init-segsam}: adds fresh SEG-SAM parts (T2VSE and the semantic-aware decoder) to SAM or MedSAM weights.
 * MLP_fuse starts at zero, so the result's binary masks equal the source model's until it is trained.
 */
@Command(name = "init-segsam", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Add untrained SEG-SAM parts for the given classes to SAM/MedSAM weights (the paper's pluggability).",
            "Binary outputs stay exactly those of the source model until the new parts are trained (segsam train)."})
final class InitSegSamCommand implements Callable<Integer> {
    @Option(names = "--from", required = true, paramLabel = "SAM_FILE", description = "SAM or MedSAM weights (.safetensors or .pth)")
    Path from;

    @Option(names = "--classes", required = true, paramLabel = "classes.json",
            description = "a JSON array of {\"name\": ..., \"description\": ...} (description optional: shipped descriptions are used for known names)")
    Path classesFile;

    @Option(names = "--out", required = true, paramLabel = "SEGSAM_FILE", description = "the new .safetensors file")
    Path out;

    @Option(names = "--text-dim", paramLabel = "N", defaultValue = "256", description = "width D_t of the built-in text embeddings (default ${DEFAULT-VALUE})")
    int textDim;

    @Option(names = "--text-embeddings", paramLabel = "FILE.safetensors",
            description = "precomputed class text embeddings (tensor \"text_embeddings\" [K, D_t], any external encoder) instead of the built-in embedder")
    Path textEmbeddings;

    @Option(names = "--convention", defaultValue = "sam", paramLabel = "sam|medsam", description = "preprocessing the model expects (default ${DEFAULT-VALUE})")
    String convention;

    @Option(names = "--plain-binary", description = "let SAM's decoder keep the plain prompt tokens t_p instead of T2VSE's t'_p")
    boolean plainBinary;

    @Option(names = "--seed", paramLabel = "N", defaultValue = "1", description = "initialisation seed (default ${DEFAULT-VALUE})")
    long seed;

    @Option(names = "--force", description = "replace an existing output file")
    boolean force;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        PrintWriter o = spec.commandLine().getOut();
        Ranges.check(spec, "--text-dim", textDim, 1, 8192);
        OutputFolder.requireWritableFile(out, force, "use --force to replace it");
        if (out.toAbsolutePath().equals(from.toAbsolutePath())) throw new IOException("--out must differ from --from");
        List<ClassSpec> classes = readClasses(classesFile);
        try (Checkpoint sam = Checkpoint.open(from, IoLimits.fromSystemProperties())) {
            SamModel.load(sam, new CpuBackend()); // validates the SAM part with a clear message
            float[][] emb;
            String encoder;
            if (textEmbeddings != null) {
                emb = readEmbeddings(textEmbeddings, classes.size());
                encoder = "external";
            } else {
                emb = SegSamInit.hashedEmbeddings(classes, textDim);
                encoder = "hashed-v1";
            }
            SegSamInit.Model m = SegSamInit.create(sam, classes, emb, encoder, !plainBinary, convention, seed);
            SafeTensorsWriter w = new SafeTensorsWriter();
            for (Map.Entry<String, Tensor> e : m.tensors().entrySet()) w.add(e.getKey(), e.getValue());
            m.metadata().forEach(w::metadata);
            w.write(out, force);
            long added = m.tensors().keySet().stream().filter(n -> n.startsWith("t2vse.") || n.startsWith("semantic_decoder.")).count();
            o.printf("wrote %s: %d classes (%s), %d new tensors (text embeddings: %s)%n", out, classes.size(),
                    String.join(", ", classes.stream().map(ClassSpec::name).toList()), added, encoder);
        }
        return 0;
    }

    static List<ClassSpec> readClasses(Path f) throws IOException {
        if (!Files.exists(f)) throw new NoSuchFileException(f.toString());
        JsonNode root;
        try {
            root = new ObjectMapper().readTree(f.toFile());
        } catch (IOException e) {
            throw new IOException(f + ": not valid JSON");
        }
        if (root == null || !root.isArray() || root.isEmpty()) throw new IOException(f + ": expected a non-empty JSON array of {\"name\": ..., \"description\": ...}");
        List<ClassSpec> out = new ArrayList<>();
        java.util.Set<String> seen = new java.util.HashSet<>();
        for (int i = 0; i < root.size(); i++) {
            JsonNode n = root.get(i);
            String name = n.isTextual() ? n.asText() : n.path("name").asText("");
            if (name.isBlank()) throw new IOException(f + ": class " + i + " has no name");
            if (!seen.add(name)) throw new IOException(f + ": class \"" + name + "\" is listed twice");
            out.add(ClassTexts.spec(name, n.isObject() && n.has("description") ? n.get("description").asText() : null));
        }
        return out;
    }

    private static float[][] readEmbeddings(Path f, int k) throws IOException {
        try (Checkpoint st = Checkpoint.open(f, IoLimits.fromSystemProperties())) {
            if (!st.contains("text_embeddings")) throw new IOException(f + ": no tensor \"text_embeddings\"");
            Tensor t = st.get("text_embeddings");
            if (t.rank() != 2 || t.size(0) != k) {
                throw new IOException(f + ": text_embeddings is " + java.util.Arrays.toString(t.shape()) + ", expected [" + k + ", D_t]");
            }
            float[][] out = new float[k][t.size(1)];
            for (int i = 0; i < k; i++) t.read((long) i * t.size(1), out[i], 0, t.size(1));
            return out;
        }
    }
}
