package dev.segsam.cli.fuzz;

import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.segsam.cli.ConfigFile;
import dev.segsam.cli.Main;
import java.nio.file.Path;
import java.util.Map;
import picocli.CommandLine;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.OptionSpec;

/** A training config file ({@code train --config}): strict JSON, every value of its option's type. */
class ConfigFuzzTest {
    private static final CommandSpec TRAIN = new CommandLine(new Main()).getSubcommands().get("train").getCommandSpec();

    @FuzzTest(maxDuration = "10m")
    void config(byte[] data) throws Exception {
        Path p = JsonInvariant.scratch("train-config.json", data);
        Map<OptionSpec, Object> values;
        try {
            values = ConfigFile.read(p, TRAIN);
        } catch (ConfigFile.BadConfigException e) {
            JsonInvariant.oneLineNaming(e, p);
            return;
        }
        for (var e : values.entrySet()) {
            Class<?> type = e.getKey().typeInfo().getType();
            Object v = e.getValue();
            boolean ok = switch (v) {
                case Integer i -> type == int.class || type == Integer.class;
                case Long l -> type == long.class || type == Long.class;
                case Double d -> (type == double.class || type == Double.class) && Double.isFinite(d);
                case Boolean b -> type == boolean.class || type == Boolean.class;
                case Path q -> type == Path.class;
                case String s -> type == String.class;
                default -> false;
            };
            if (!ok) throw new AssertionError(e.getKey().longestName() + " (" + type + ") = " + v);
        }
    }
}
