package dev.segsam.cli;

import dev.segsam.cli.medical.DatasetCommand;
import dev.segsam.cli.medical.ExportSliceCommand;
import dev.segsam.cli.medical.InspectCommand;
import dev.segsam.tensor.Device;
import dev.segsam.tensor.Options;
import java.io.PrintWriter;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * The {@code segsam} command line. Run it through the repository's {@code ./segsam} launcher, which picks a JDK 25
 * and builds this jar on first use.
 */
@Command(name = "segsam", mixinStandardHelpOptions = true, versionProvider = Main.Version.class,
        description = "SEG-SAM (semantic-guided SAM for medical image segmentation) in Java.",
        subcommands = {DemoCommand.class, ServeCommand.class, MakeDemoCommand.class, AblationReportCommand.class, PredictCommand.class, PredictVolumeCommand.class, TrainCommand.class, EvalCommand.class, InitSegSamCommand.class, ConvertCommand.class, TensorsCommand.class, SelfTestCommand.class,
                // medical images and data sets (dev.segsam.cli.medical)
                InspectCommand.class, ExportSliceCommand.class, DatasetCommand.class,
                CommandLine.HelpCommand.class})
public final class Main {
    static {
        // log records (System.Logger → java.util.logging) as one line each: "segsam: <message>"
        if (System.getProperty("java.util.logging.SimpleFormatter.format") == null) {
            System.setProperty("java.util.logging.SimpleFormatter.format", "segsam: %5$s%6$s%n");
        }
    }

    /**
     * {@code --verbose} (any command): the library's DEBUG log lines too (which device and CPU path {@code auto} chose
     * and why, the kind of checkpoint); without it only its warnings are printed.
     */
    @CommandLine.Option(names = "--verbose", scope = CommandLine.ScopeType.INHERIT,
            description = "also print the library's informational log lines (device chosen and why, checkpoint kind)")
    void verbose(boolean on) {
        verboseLogging(on);
    }

    /** Shows (or hides again) the {@code segsam} logger's DEBUG/INFO records on the error stream. */
    static synchronized void verboseLogging(boolean on) {
        java.util.logging.Logger log = LOGGER;
        if (verboseHandler != null) log.removeHandler(verboseHandler);
        verboseHandler = null;
        if (on) {
            verboseHandler = new java.util.logging.ConsoleHandler();
            verboseHandler.setLevel(java.util.logging.Level.ALL);
            log.addHandler(verboseHandler);
            log.setLevel(java.util.logging.Level.FINE);
            log.setUseParentHandlers(false);
        } else {
            log.setLevel(null);
            log.setUseParentHandlers(true);
        }
    }

    private static final java.util.logging.Logger LOGGER = java.util.logging.Logger.getLogger("segsam"); // held: JUL keeps loggers weakly
    private static java.util.logging.Handler verboseHandler;

    public static void main(String[] args) {
        System.exit(run(args, new PrintWriter(System.out, true), new PrintWriter(System.err, true)));
    }

    /** Runs the CLI with the given streams and returns the exit code (0 success, 1 failure, 2 usage error). */
    public static int run(String[] args, PrintWriter out, PrintWriter err) {
        verboseLogging(false); // each run starts quiet; --verbose turns the library's log lines on
        CommandLine cl = new CommandLine(new Main());
        cl.setOut(out);
        cl.setErr(err);
        // Errors are one line ("segsam: ...") and a non-zero exit; -Dsegsam.debug=true adds the stack trace.
        cl.setExecutionExceptionHandler((ex, commandLine, parseResult) -> {
            commandLine.getErr().println("segsam: " + oneLine(ex));
            if (Boolean.getBoolean("segsam.debug")) ex.printStackTrace(commandLine.getErr());
            return 1;
        });
        cl.setParameterExceptionHandler((ex, a) -> {
            CommandLine c = ex.getCommandLine();
            c.getErr().println("segsam: " + ex.getMessage());
            c.getErr().println("Try 'segsam " + (c.getCommandName().equals("segsam") ? "" : c.getCommandName() + " ") + "--help'.");
            return 2;
        });
        return cl.execute(args);
    }

    /**
     * The compute options of one run, mapped at the edge: the documented {@code -Dsegsam.*} system properties
     * ({@link Options#fromSystemProperties()}, a bad value failing in one line that names the property), then
     * {@code device} ({@code --device}) and {@code threads} ({@code --threads}) when given (null: not given).
     */
    static Options options(String device, Integer threads) {
        Options o = Options.fromSystemProperties();
        if (device != null) o = o.withDevice(Device.parse(device));
        if (threads != null) {
            if (threads < 1) throw new IllegalArgumentException("--threads must be at least 1, got " + threads);
            o = o.withThreads(threads);
        }
        return o;
    }

    static String oneLine(Throwable e) {
        String m = e.getMessage();
        if (m == null || m.isBlank()) m = e.getClass().getSimpleName();
        if (e instanceof java.nio.file.NoSuchFileException) m = "no such file: " + m;
        if (e instanceof java.nio.file.AccessDeniedException) m = "permission denied: " + m;
        return m.replace('\n', ' ');
    }

    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            String v = Main.class.getPackage().getImplementationVersion();
            return new String[] {"segsam " + (v == null ? "0.1.0-SNAPSHOT" : v) + " (Java " + Runtime.version() + ")"};
        }
    }
}
