// Entry point of `reconstruct`. Commands are parsed and run by the F# library
// (Reconstruct.Cli.Commands); the host owns what belongs to a process: Ctrl+C, exit codes and
// turning any failure into one line on stderr instead of a stack trace.
using Reconstruct.Cli;

namespace Reconstruct.Host;

public static class Program
{
    // Exit codes: 0 ok, 1 failure, 2 usage error, 130 interrupted (shell convention for SIGINT).
    public static int Main(string[] args)
    {
        Console.CancelKeyPress += (_, e) =>
        {
            // Long jobs write to temporary names and rename, so stopping here loses no finished output.
            Console.Error.WriteLine("reconstruct: interrupted");
            Environment.Exit(130);
        };
        try
        {
            return Commands.run(args);
        }
        catch (Exception e) when (Environment.GetEnvironmentVariable("RECONSTRUCT_DEBUG") != "1")
        {
            var inner = e is System.Reflection.TargetInvocationException { InnerException: { } ie } ? ie : e;
            Console.Error.WriteLine($"reconstruct: {inner.Message.Split('\n')[0]}");
            return 1;
        }
    }
}
