/// The test runner: every [<Tests>] value in this assembly, with Expecto's command line
/// (--filter, --sequenced, --summary, --debug, --junit-summary, ...; --help lists them).
module Reconstruct.Tests.Main

open Expecto

[<EntryPoint>]
let main argv = Tests.runTestsInAssemblyWithCLIArgs [] argv
