/// Where the repository and the built programs are: the one place that knows the layout.
module Chat.Testing.Paths

open System
open System.IO
open System.Reflection

type private Marker = class end

/// The build configuration this library was built with (Debug or Release); the server and the
/// client are looked for in the same one.
let configuration =
    match typeof<Marker>.Assembly.GetCustomAttribute<AssemblyConfigurationAttribute>() with
    | null -> "Debug"
    | a -> a.Configuration

let private startingPoints () = [
    match Environment.GetEnvironmentVariable "CHAT_REPO_ROOT" with
    | null
    | "" -> ()
    | root -> root
    // Beside this library: tests/Chat.Testing/bin/..., or copied into a test program's bin/...
    match typeof<Marker>.Assembly.Location with
    | null
    | "" -> ()
    | dll -> Path.GetDirectoryName dll
    AppContext.BaseDirectory
    Environment.CurrentDirectory
]

/// The repository root: `CHAT_REPO_ROOT` if set, else the first directory holding Chat.sln above
/// this library's DLL, the program's directory or the working directory.
let repoRoot =
    lazy
        (let rec up (dir: DirectoryInfo) =
            if isNull dir then
                None
            elif File.Exists(Path.Combine(dir.FullName, "Chat.sln")) then
                Some dir.FullName
            else
                up dir.Parent

         match startingPoints () |> List.tryPick (fun d -> up (DirectoryInfo d)) with
         | Some root -> root
         | None -> failwith $"Chat.sln not found above any of {startingPoints ()}; set CHAT_REPO_ROOT")

let private built (project: string) (dll: string) =
    lazy
        (let path =
            Path.Combine(repoRoot.Value, "src", project, "bin", configuration, "net10.0", dll)

         if File.Exists path then
             path
         else
             failwith $"{path} does not exist: build src/{project} with -c {configuration} first")

/// src/Chat.Server/bin/<configuration>/net10.0/Chat.Server.dll, run with `dotnet`.
let serverDll = built "Chat.Server" "Chat.Server.dll"

/// src/Chat.Client/bin/<configuration>/net10.0/chat.dll, run with `dotnet`.
let clientDll = built "Chat.Client" "chat.dll"

/// The `dotnet` executable to run those DLLs with: DOTNET_HOST_PATH, else this process's host
/// when it is `dotnet`, else `dotnet` from PATH.
let dotnetHost =
    lazy
        (match Environment.GetEnvironmentVariable "DOTNET_HOST_PATH" with
         | p when not (String.IsNullOrEmpty p) && File.Exists p -> p
         | _ ->
             match Environment.ProcessPath with
             | p when not (isNull p) && Path.GetFileNameWithoutExtension p = "dotnet" -> p
             | _ -> "dotnet")
