// The minimal config `hardhat node` needs: the chain smoke test runs against Hardhat's node
// (a second node implementation beside anvil). Nothing is compiled here: forge builds the
// contracts and the tests deploy its artifacts.
module.exports = {
  networks: {
    hardhat: { chainId: 31337, mining: { auto: true } },
  },
};
