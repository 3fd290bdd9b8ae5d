import DealBuiltins
import DealShell
import Foundation

exit(CLI.main(CommandLine.arguments, plugins: BuiltInPlugins.all))
