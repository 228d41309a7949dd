/// The entry point of every test program: Expecto over the tests marked [<Tests>] in the assembly,
/// then one plain line `P passed, F failed[, I skipped]` that scripts/test.sh adds up.
module Chat.Tests.Runner

open Expecto
open Expecto.Impl

[<EntryPoint>]
let main argv =
    let mutable summary: TestRunSummary option = None

    let record =
        CLIArguments.Append_Summary_Handler(SummaryHandler(fun s -> summary <- Some s))
    // Piped (CI, scripts/test.sh): no spinner and no colour codes around the lines that are read.
    let plain =
        if System.Console.IsOutputRedirected then
            [ CLIArguments.No_Spinner; CLIArguments.Colours 0 ]
        else
            []

    let code = Tests.runTestsInAssemblyWithCLIArgs (record :: plain) argv

    match summary with
    | Some s ->
        let failed = s.failed.Length + s.errored.Length
        let skipped = s.ignored.Length
        let tail = if skipped > 0 then sprintf ", %d skipped" skipped else ""
        // Straight to the process's stdout: Expecto's console writer pads lines for its progress bar.
        use out = new System.IO.StreamWriter(System.Console.OpenStandardOutput())
        out.Write(sprintf "\n%d passed, %d failed%s\n" s.passed.Length failed tail)
    | None -> ()

    code
