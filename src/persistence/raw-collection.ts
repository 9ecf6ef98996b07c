import type { Model, mongo } from 'mongoose';

/** The raw driver collection of a model, typed: hot paths skip mongoose's document layer. */
export function rawCollection<T extends mongo.Document>(model: Model<T>): () => mongo.Collection<T> {
  return () => model.collection as unknown as mongo.Collection<T>;
}
