package sunlamp

import "hash/fnv"

// AnimalName returns the name a user without one gets when its app's useAnimalNames setting is
// on: a colour as the given name and an animal as the surname, such as "Orange" "Lion". The same
// seed (the user's id) always gives the same name. The spec does not list the service's names;
// these lists are Sunlamp's own (18 colours × 40 animals).
func AnimalName(seed string) (givenName, surname string) {
	h := fnv.New64a()
	_, _ = h.Write([]byte(seed))
	n := h.Sum64()
	return animalColours[n%uint64(len(animalColours))], animals[(n/uint64(len(animalColours)))%uint64(len(animals))]
}

var animalColours = []string{"Amber", "Aqua", "Azure", "Blue", "Coral", "Crimson", "Gold", "Green", "Grey",
	"Indigo", "Lime", "Magenta", "Orange", "Pink", "Purple", "Red", "Teal", "Violet"}

var animals = []string{"Badger", "Bear", "Beaver", "Bison", "Camel", "Cheetah", "Crane", "Deer", "Dolphin",
	"Eagle", "Falcon", "Fox", "Gecko", "Giraffe", "Hare", "Hedgehog", "Heron", "Ibis", "Jaguar", "Koala",
	"Lemur", "Leopard", "Lion", "Lynx", "Moose", "Narwhal", "Otter", "Owl", "Panda", "Penguin", "Puffin",
	"Rabbit", "Raccoon", "Seal", "Sparrow", "Swan", "Tiger", "Turtle", "Walrus", "Wolf"}
