package dev.segsam.cli;

import dev.segsam.io.Checkpoint;
import dev.segsam.io.pth.PthConvert;
import java.io.PrintWriter;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/**
 * Converts a PyTorch checkpoint to safetensors or back: the input's format comes from its content
 * ({@link Checkpoint#detect}), the output's name must say the other format.
 */
@Command(name = "convert", mixinStandardHelpOptions = true,
        description = {"Convert a PyTorch checkpoint (.pth/.pt/.bin) to .safetensors, or a .safetensors file to .pth.",
                "The .pth is read without Python and without running anything from it; files that would run code "
                        + "are refused. From a training checkpoint only the state dict is converted."})
final class ConvertCommand implements Callable<Integer> {
    @Parameters(index = "0", paramLabel = "IN", description = "a .pth/.pt/.bin checkpoint or a .safetensors file")
    Path in;

    @Parameters(index = "1", paramLabel = "OUT", description = "the file to write in the other format (.safetensors, or .pth/.pt/.bin)")
    Path out;

    @Option(names = "--force", description = "replace OUT if it exists")
    boolean force;

    @Spec
    CommandSpec spec;

    private static boolean isPth(Path p) {
        String n = p.getFileName().toString().toLowerCase(Locale.ROOT);
        return n.endsWith(".pth") || n.endsWith(".pt") || n.endsWith(".bin");
    }

    private static boolean isSafetensors(Path p) {
        return p.getFileName().toString().toLowerCase(Locale.ROOT).endsWith(".safetensors");
    }

    @Override
    public Integer call() throws Exception {
        boolean toSafetensors = Checkpoint.detect(in) == Checkpoint.Format.PTH;
        if (toSafetensors ? !isSafetensors(out) : !isPth(out)) {
            throw new ParameterException(spec.commandLine(), "cannot write '" + out.getFileName() + "': '" + in.getFileName() + "' is a "
                    + (toSafetensors ? "PyTorch checkpoint, so OUT must end in .safetensors" : "safetensors file, so OUT must end in .pth, .pt or .bin"));
        }
        OutputFolder.requireWritableFile(out, force, "use --force to replace it");
        PthConvert.Result r;
        try {
            r = toSafetensors ? PthConvert.toSafetensors(in, out, force) : PthConvert.fromSafetensors(in, out, force);
        } catch (FileAlreadyExistsException e) {
            throw new FileAlreadyExistsException(e.getFile(), null, e.getReason() + " (use --force to replace it)");
        }
        PrintWriter o = spec.commandLine().getOut();
        o.printf("wrote %s: %d tensors, %,d bytes of data%n", out, r.tensors(), r.bytes());
        int n = r.warnings().size();
        if (n > 0) o.printf("%d %s not converted (see the warnings logged above)%n", n, n == 1 ? "entry" : "entries");
        return 0;
    }
}
