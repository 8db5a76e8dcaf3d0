/** Everything for crafting packets and captures, independent of the product's decoder. */
export * from './layers.js';
export * from './pcap-writer.js';
export * from './tcp-conversation.js';
export * from './clock.js';
export * from './prng.js';
export * from './app.js';
export * from './dicom.js';
