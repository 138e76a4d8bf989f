package dev.segsam.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.OptionSpec;

/** train --config files are read strictly: each refusal one line naming the file and what was wrong. */
class ConfigFileTest {
    static final CommandSpec TRAIN = new CommandLine(new Main()).getSubcommands().get("train").getCommandSpec();

    @TempDir
    Path dir;

    Map<OptionSpec, Object> read(String json) throws Exception {
        return ConfigFile.read(Files.writeString(dir.resolve("cfg.json"), json), TRAIN);
    }

    @Test
    void typedValuesAndATrainJson() throws Exception {
        Map<OptionSpec, Object> v = read("{\"steps\": 2, \"seed\": 5, \"lr\": 1e-3, \"text-dim\": 32, \"init\": \"m.safetensors\", \"ablation\": \"so\"}");
        assertEquals(2, v.get(TRAIN.findOption("--steps")));
        assertEquals(5L, v.get(TRAIN.findOption("--seed")));
        assertEquals(1e-3, v.get(TRAIN.findOption("--lr")));
        assertEquals(32, v.get(TRAIN.findOption("--text-dim")));
        assertEquals(Path.of("m.safetensors"), v.get(TRAIN.findOption("--init")));
        assertEquals(7, read("{\"options\": {\"steps\": 7}, \"steps\": [{\"step\": 1}]}").get(TRAIN.findOption("--steps")));
    }

    @Test
    void refusals() {
        String[][] cases = {
            {"{\"steps\": \"abc\"}", "\"steps\": expected a whole number from -2147483648 to 2147483647, got \"abc\""},
            {"{\"steps\": 2.5}", "\"steps\": expected a whole number"},
            {"{\"steps\": 1e400}", "\"steps\": expected a whole number"},
            {"{\"steps\": 99999999999}", "\"steps\": expected a whole number"},
            {"{\"lr\": 1e400}", "\"lr\": expected a finite number"},
            {"{\"lr\": NaN}", "not valid JSON"},
            {"{\"steps\": 2, \"steps\": 3}", "not valid JSON (Duplicate field 'steps')"},
            {"{\"steps\": 2, \"text_dim\": 8, \"text-dim\": 9}", "option \"text-dim\" is given twice"},
            {"{\"steps\": 2} {}", "not valid JSON"},
            {"{\"stepz\": 2}", "unknown option \"stepz\""},
            {"{\"config\": \"x\"}", "unknown option \"config\""},
            {"{\"resume\": \"yes\"}", "\"resume\": expected true or false, got \"yes\""},
            {"{\"init\": 3}", "\"init\": expected a path as a non-empty string, got 3"},
            {"{\"bad\\nname\": 1}", "unknown option \"bad\\nname\""},
            {"[1, 2]", "expected a JSON object of option values"},
        };
        for (String[] c : cases) {
            ConfigFile.BadConfigException e = assertThrows(ConfigFile.BadConfigException.class, () -> read(c[0]), c[0]);
            assertTrue(e.getMessage().startsWith(dir.resolve("cfg.json") + ": "), e.getMessage());
            assertTrue(e.getMessage().contains(c[1]), c[0] + " -> " + e.getMessage());
            assertEquals(1, e.getMessage().lines().count(), e.getMessage());
        }
    }
}
