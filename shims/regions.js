// The regions a store can be created in, in AWS-style names, each with the
// Durable Object placement that serves it. Placement hints are best effort;
// the `eu` jurisdiction guarantees that data stays in the EU. London
// (eu-west-2) is not in the EU, so it gets the hint only.
export const REGIONS = {
  'eu-central-1': { locationHint: 'weur', jurisdiction: 'eu' }, // Frankfurt
  'eu-west-1': { locationHint: 'weur', jurisdiction: 'eu' }, // Ireland
  'eu-west-2': { locationHint: 'weur' }, // London
  'eu-west-3': { locationHint: 'weur', jurisdiction: 'eu' }, // Paris
  'eu-north-1': { locationHint: 'eeur', jurisdiction: 'eu' }, // Stockholm
  'us-east-1': { locationHint: 'enam' }, // N. Virginia
  'us-east-2': { locationHint: 'enam' }, // Ohio
  'us-west-1': { locationHint: 'wnam' }, // N. California
  'us-west-2': { locationHint: 'wnam' }, // Oregon
  'ca-central-1': { locationHint: 'enam' }, // Montreal
  'sa-east-1': { locationHint: 'sam' }, // São Paulo
  'ap-southeast-1': { locationHint: 'apac' }, // Singapore
  'ap-southeast-2': { locationHint: 'oc' }, // Sydney
  'ap-northeast-1': { locationHint: 'apac' }, // Tokyo
  'ap-south-1': { locationHint: 'apac' }, // Mumbai
  'me-central-1': { locationHint: 'me' }, // UAE
  'af-south-1': { locationHint: 'afr' }, // Cape Town
};
