// Entry point of `reconstruct`. Commands are parsed and run by the F# library
// (Reconstruct.Cli.Commands); the host owns what belongs to a process: Ctrl+C and SIGTERM, exit codes and
// turning any failure into one line on stderr instead of a stack trace.
using Reconstruct.Cli;

namespace Reconstruct.Host;

public static class Program
{
    // Exit codes: 0 ok, 1 failure, 2 usage error, 130 interrupted (shell convention for SIGINT).
    public static int Main(string[] args)
    {
        // Ctrl+C only asks: the command sees the token between items, writes what it has and
        // returns 130. Exiting from the handler would kill the main thread inside libtorch.
        // A second Ctrl+C is the user insisting: then the process ends at once.
        using var interrupt = new CancellationTokenSource();
        Console.CancelKeyPress += (_, e) =>
        {
            if (interrupt.IsCancellationRequested) return;
            e.Cancel = true;
            interrupt.Cancel();
        };
        // SIGTERM asks the same (kill, systemd, a container stopping): a process started in the
        // background by a non-interactive shell ignores SIGINT, so this is how such a training
        // run is stopped with a checkpoint.
        using var terminate = System.Runtime.InteropServices.PosixSignalRegistration.Create(
            System.Runtime.InteropServices.PosixSignal.SIGTERM,
            context =>
            {
                if (interrupt.IsCancellationRequested) return;
                context.Cancel = true;
                interrupt.Cancel();
            });
        try
        {
            return Commands.run(args, interrupt.Token);
        }
        catch (Exception e) when (Environment.GetEnvironmentVariable("RECONSTRUCT_DEBUG") != "1")
        {
            var inner = e is System.Reflection.TargetInvocationException { InnerException: { } ie } ? ie : e;
            Console.Error.WriteLine($"reconstruct: {inner.Message.Split('\n')[0]}");
            return 1;
        }
    }
}
