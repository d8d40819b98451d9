// Command simd is ibc-go's own simapp daemon, built at the version go.mod
// pins, so that DeAI's IBC tests relay against a counterparty chain that
// others wrote (Cosmos SDK + ibc-go), not against a second DeAI chain.
// This file is ibc-go's testing/simapp/simd/main.go; the app, its modules
// and its CLI all come from the module.
package main

import (
	"os"

	"cosmossdk.io/log"

	svrcmd "github.com/cosmos/cosmos-sdk/server/cmd"

	"github.com/cosmos/ibc-go/v8/testing/simapp"
	"github.com/cosmos/ibc-go/v8/testing/simapp/simd/cmd"
)

func main() {
	rootCmd := cmd.NewRootCmd()
	if err := svrcmd.Execute(rootCmd, "", simapp.DefaultNodeHome); err != nil {
		log.NewLogger(rootCmd.OutOrStderr()).Error("failure when running app", "err", err)
		os.Exit(1)
	}
}
