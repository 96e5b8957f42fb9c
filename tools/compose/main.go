// compose-check: loads a Compose file with compose-go (the library `docker compose` itself
// uses), so the file is checked against the Compose specification's JSON schema and its
// semantics (references between services, volumes, secrets, interpolation), without a
// container engine. Prints the loaded, interpolated project as JSON; exits 1 with the
// loader's error.
//
//	go run . <compose.yaml> [<env file>]
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/compose-spec/compose-go/v2/cli"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: compose-check <compose.yaml> [<env file>]")
		os.Exit(2)
	}
	opts := []cli.ProjectOptionsFn{cli.WithName("gatehouse"), cli.WithOsEnv}
	if len(os.Args) > 2 {
		opts = append(opts, cli.WithEnvFiles(os.Args[2]), cli.WithDotEnv)
	}
	options, err := cli.NewProjectOptions([]string{os.Args[1]}, opts...)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	project, err := options.LoadProject(context.Background())
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	out, err := project.MarshalJSON()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Println(string(out))
}
