package dev.segsam.model.sam;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * docs/design/sam.md Appendix A (the sam_vit_b state dict, also read by tools/reference/pth_fixtures.py) and
 * {@link SamConfig#parameterShapes()} list the same 314 names and shapes in the same order, so neither can drift.
 */
class StateDictDocTest {
    @Test
    void appendixAIsTheViTBStateDict() throws IOException {
        String doc = Files.readString(repositoryRoot().resolve("docs/design/sam.md"));
        int at = doc.indexOf("## Appendix A");
        assertTrue(at >= 0, "docs/design/sam.md has no Appendix A");
        String block = doc.substring(doc.indexOf("```", at) + 3);
        block = block.substring(0, block.indexOf("```")).strip();
        List<String> listed = block.lines().map(String::strip).toList();

        List<String> generated = new ArrayList<>();
        for (Map.Entry<String, int[]> e : SamConfig.vitB().parameterShapes().entrySet()) {
            generated.add(e.getKey() + " " + Arrays.toString(e.getValue()));
        }
        assertEquals(314, listed.size(), "tensors listed in Appendix A");
        for (int i = 0; i < listed.size(); i++) assertEquals(generated.get(i), listed.get(i), "state-dict entry " + i);
    }

    /** The repository root above surefire's working directory (the module folder). */
    static Path repositoryRoot() {
        for (Path d = Path.of(System.getProperty("user.dir")).toAbsolutePath(); d != null; d = d.getParent()) {
            if (Files.isRegularFile(d.resolve("docs/design/sam.md")) && Files.isRegularFile(d.resolve("pom.xml"))) return d;
        }
        throw new AssertionError("no repository root with docs/design/sam.md above " + System.getProperty("user.dir"));
    }
}
