pub mod ini_corpus;
