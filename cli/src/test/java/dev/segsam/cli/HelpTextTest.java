package dev.segsam.cli;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import picocli.CommandLine;
import picocli.CommandLine.Model.ArgSpec;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.OptionSpec;
import picocli.CommandLine.Model.PositionalParamSpec;
import org.junit.jupiter.api.Test;

/**
 * The help of every command, walked through picocli's model: every option and parameter is described, every value
 * placeholder is a chosen one (not picocli's {@code <fieldName>}), and every command's summary — the first line of
 * its description, which {@code segsam --help} lists — is a whole sentence.
 */
class HelpTextTest {
    static List<CommandSpec> commands() {
        List<CommandSpec> all = new ArrayList<>();
        walk(new CommandLine(new Main()), all);
        return all;
    }

    private static void walk(CommandLine cl, List<CommandSpec> out) {
        out.add(cl.getCommandSpec());
        for (Map.Entry<String, CommandLine> e : cl.getSubcommands().entrySet()) {
            if (e.getKey().equals(e.getValue().getCommandName())) walk(e.getValue(), out); // skip aliases
        }
    }

    @Test
    void everyOptionAndParameterIsDescribed() {
        List<String> problems = new ArrayList<>();
        List<CommandSpec> specs = commands();
        assertTrue(specs.size() >= 14, "walked every command: " + specs.size());
        for (CommandSpec spec : specs) {
            String cmd = spec.qualifiedName();
            List<ArgSpec> args = new ArrayList<>(spec.options());
            args.addAll(spec.positionalParameters());
            for (ArgSpec a : args) {
                if (a.hidden()) continue;
                String name = a instanceof OptionSpec o ? o.longestName() : "parameter " + ((PositionalParamSpec) a).paramLabel();
                String text = String.join(" ", a.description()).trim();
                if (text.isEmpty()) problems.add(cmd + " " + name + ": no description");
                if (a.typeInfo() != null && !a.typeInfo().isBoolean() && a.paramLabel().startsWith("<") && a.paramLabel().endsWith(">")
                        && a instanceof OptionSpec) {
                    problems.add(cmd + " " + name + ": picocli's default placeholder " + a.paramLabel());
                }
            }
        }
        assertTrue(problems.isEmpty(), String.join("\n", problems));
    }

    /** One meaning per option name: {@code --data} names a data set, {@code --data-dir} the folder its files are in. */
    @Test
    void optionNamesMeanTheSameEverywhere() {
        List<String> problems = new ArrayList<>();
        for (CommandSpec spec : commands()) {
            for (OptionSpec o : spec.options()) {
                List<String> names = List.of(o.names());
                boolean folder = o.type() == java.nio.file.Path.class;
                if (o.longestName().equals("--data") && folder) problems.add(spec.qualifiedName() + " --data takes a folder (call it --data-dir)");
                if (names.contains("--data-dir") && !folder) problems.add(spec.qualifiedName() + " --data-dir does not take a folder");
                if (folder && names.stream().anyMatch(n -> n.equals("--out")) && o.paramLabel().startsWith("<")) {
                    problems.add(spec.qualifiedName() + " --out without a placeholder");
                }
            }
        }
        assertTrue(problems.isEmpty(), String.join("\n", problems));
    }

    @Test
    void everySummaryIsAWholeSentence() {
        List<String> problems = new ArrayList<>();
        for (CommandSpec spec : commands()) {
            String[] d = spec.usageMessage().description();
            if (d.length == 0 || d[0].isBlank()) {
                problems.add(spec.qualifiedName() + ": no description");
                continue;
            }
            String first = d[0].trim();
            if (!(first.endsWith(".") || first.endsWith(")") && first.contains("."))) {
                problems.add(spec.qualifiedName() + ": summary cut mid-sentence: " + first);
            }
            if (first.length() > 160) problems.add(spec.qualifiedName() + ": summary longer than two lines of the command list: " + first);
        }
        assertTrue(problems.isEmpty(), String.join("\n", problems));
    }
}
