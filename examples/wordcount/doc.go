// Command wordcount is Beam's WordCount on Sluice: it reads text files,
// splits their lines into words, counts each distinct word and writes one
// "word: count" line per word.
//
//	go run ./examples/wordcount -input='examples/wordcount/testdata/*.txt' -output=/tmp/counts
//
// The pipeline, one transform per step of Beam's example:
//
//	textio.Read            lines of every file the -input glob matches
//	ParDo ExtractWords     the words of each line (a regexp of letters,
//	                       with an apostrophe inside: "don't"), counting
//	                       lines and words in metrics
//	CountPerElement        (word, count), a lifted combine
//	Map FormatCounts       "word: count"
//	textio.Write           -output/part-00000.txt, ... committed at the end
//
// Words are case-sensitive, as in Beam's example ("It" and "it" are two
// words). The output is unordered: each shard holds the words that one
// worker counted. At the end the program prints the number of lines, words
// and distinct words, and how long the run took.
package main
