module profile2metrics

go 1.19
